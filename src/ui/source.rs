//! Draws the Source pane: highlighted lines with numbers, ▶ on the paused call site and
//! ✗ on the error line. Only the visible lines are touched.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::View;
use crate::app::Focus;

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let src = &view.app.source;
    let slots = &view.theme.slots;
    let mut title = vec![view.title("Source")];
    if let Some(file) = &src.file {
        title.push(view.dim(format!("{file} ")));
    }
    let block = view.pane_block(Focus::Source, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    if let Some(err) = &src.load_error {
        frame.render_widget(Paragraph::new(Line::styled(err.clone(), slots.note)), inner);
        return;
    }
    if src.lines.is_empty() {
        let hint = match &src.file {
            Some(_) => "loading…".to_string(),
            None => format!(
                "no script loaded; {} opens one",
                view.app
                    .keymap
                    .hint(crate::app::Action::Open)
                    .unwrap_or_default()
            ),
        };
        frame.render_widget(Paragraph::new(view.dim(hint)), inner);
        return;
    }
    let digits = src.lines.len().to_string().len();
    let height = inner.height as usize;
    let start = src.scroll.min(src.lines.len().saturating_sub(1));
    let end = (start + height).min(src.lines.len());
    let rows: Vec<Line> = (start..end)
        .map(|i| {
            let number = (i + 1) as u32;
            let (marker, gutter_style) = if src.paused_line == Some(number) {
                ("▶", slots.paused_line)
            } else if src.error_line == Some(number) {
                ("✗", slots.error_line)
            } else {
                (" ", slots.line_number)
            };
            let mut spans = vec![
                Span::styled(format!("{marker}{number:>digits$} "), gutter_style),
                Span::raw(" "),
            ];
            spans.extend(src.lines[i].spans.iter().cloned());
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(rows), inner);
}
