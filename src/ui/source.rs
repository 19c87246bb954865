//! Draws the Source pane: highlighted lines with numbers, ▶ on the paused call site,
//! ✗ on the error line, ■ where a cancel or the debugger stopped the strategy, ● a
//! breakpoint (○ while its file is not loaded), the cursor line's number highlighted. Only the visible lines are touched.

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
    if src.wrap {
        title.push(view.dim("· wrap "));
    } else if src.hscroll > 0 {
        title.push(view.dim(format!("· from col {} ", src.hscroll + 1)));
    }
    let block = view.pane_block(Focus::Source, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    if let Some(err) = &src.load_error {
        frame.render_widget(Paragraph::new(Line::styled(err.clone(), slots.note)), inner);
        return;
    }
    if src.lines.is_empty() {
        let hint = match (&src.file, &src.loading) {
            (_, Some(file)) => format!("loading {file}…"),
            (Some(_), None) => "loading…".to_string(),
            (None, None) => format!(
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
    let digits = src.gutter() - 3;
    let text_width = (inner.width as usize).saturating_sub(src.gutter()).max(1);
    let height = inner.height as usize;
    let start = src.scroll.min(src.lines.len().saturating_sub(1));
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    // Marks only in the file they belong to.
    let (paused, error, stopped) = (src.paused_line(), src.error_line(), src.stopped_line());
    let breaks = src
        .file
        .as_deref()
        .map(|f| view.app.breakpoints.in_file(f))
        .unwrap_or_default();
    let cursor =
        (view.app.focus == Focus::Source && view.app.overlay.is_none()).then_some(src.cursor);
    for i in start..src.lines.len() {
        if rows.len() >= height {
            break;
        }
        let number = (i + 1) as u32;
        let (marker, gutter_style) = if paused == Some(number) {
            ("▶", slots.paused_line)
        } else if error == Some(number) {
            ("✗", slots.error_line)
        } else if stopped == Some(number) {
            ("■", slots.paused_line)
        } else if let Some((_, glyph)) = breaks.iter().find(|(l, _)| *l == number) {
            (glyph.symbol(), slots.breakpoint)
        } else {
            (" ", slots.line_number)
        };
        // The cursor line: its number in the selection style (the code keeps its colours).
        let gutter_style = if cursor == Some(i) {
            gutter_style.patch(slots.selection)
        } else {
            gutter_style
        };
        let line = &src.lines[i];
        let gutter = Span::styled(format!("{marker}{number:>digits$}  "), gutter_style);
        if src.wrap {
            // Every row of a long line, the first with its number.
            let width = line.width().max(1);
            for (k, from) in (0..width).step_by(text_width).enumerate() {
                if rows.len() >= height {
                    break;
                }
                let lead = if k == 0 {
                    gutter.clone()
                } else {
                    Span::styled(" ".repeat(src.gutter()), slots.line_number)
                };
                let mut spans = vec![lead];
                spans.extend(columns(line, from, from + text_width));
                rows.push(Line::from(spans));
            }
        } else {
            // Sideways: from `hscroll`; `›` says the line goes on past the edge.
            let end = src.hscroll + text_width;
            let more = line.width() > end;
            let mut spans = vec![gutter];
            spans.extend(columns(line, src.hscroll, if more { end - 1 } else { end }));
            if more {
                spans.push(Span::styled("›", slots.dim));
            }
            rows.push(Line::from(spans));
        }
    }
    frame.render_widget(Paragraph::new(rows), inner);
}

/// The spans of `line` between display columns `from` and `to` (a wide character
/// cut by either edge is left out).
fn columns(line: &Line<'static>, from: usize, to: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut col = 0;
    for span in &line.spans {
        let mut text = String::new();
        for ch in span.content.chars() {
            let mut buf = [0u8; 4];
            let w = Span::raw(&*ch.encode_utf8(&mut buf)).width();
            if col >= from && col + w <= to {
                text.push(ch);
            }
            col += w;
        }
        if !text.is_empty() {
            out.push(Span::styled(text, span.style));
        }
        if col >= to {
            break;
        }
    }
    out
}
