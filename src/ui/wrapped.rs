//! Draws text that `app::wrap` wrapped: the window of the Pending pane's text that is
//! on screen (note, system prompt, prompt), the start or end of an answer, and the
//! window of a large answer shown read-only instead of the editor. Only
//! the visible rows become `Line`s, so a frame costs what it shows, however long the
//! text. Touches nothing but the frame.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::View;
use crate::app::large::{self, LargeAnswer};
use crate::app::pending::PendingQuery;
use crate::app::wrap::{self, BodyRow, SYSTEM_LABEL};

/// The Pending pane's text from row `scroll` (kept within the text) down; returns the
/// first row shown and how many rows the text has (for the "more below" marker).
pub(super) fn render_body(
    frame: &mut Frame,
    inner: Rect,
    view: &View,
    q: &PendingQuery,
    scroll: usize,
) -> (usize, usize) {
    let slots = &view.theme.slots;
    let rows = q.prompt_rows(inner.width);
    let note: Vec<&str> = q.note.as_deref().map_or_else(Vec::new, |n| {
        wrap::wrap(n, inner.width)
            .into_iter()
            .map(|r| &n[r])
            .collect()
    });
    let height = usize::from(inner.height);
    let total = rows.len(note.len());
    let first = scroll.min(total.saturating_sub(height));
    let label = " ".repeat(usize::from(SYSTEM_LABEL));
    let lines: Vec<Line> = rows
        .visible(&q.query, &note, first, height)
        .into_iter()
        .map(|row| match row {
            BodyRow::Note(text) => Line::styled(text, slots.note),
            BodyRow::System { first, text } => Line::from(vec![
                Span::styled(if first { "system  " } else { label.as_str() }, slots.dim),
                Span::styled(text, slots.system_prompt),
            ]),
            BodyRow::Blank => Line::raw(""),
            BodyRow::Prompt(text) => Line::raw(text),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    (first, total)
}

/// `lines` then the start of `text`: as many of its wrapped rows as fit below them.
pub(super) fn head_of<'a>(
    mut lines: Vec<Line<'a>>,
    text: &'a str,
    area: Rect,
    style: Style,
) -> Paragraph<'a> {
    let room = usize::from(area.height).saturating_sub(lines.len());
    lines.extend(
        wrap::head(text, area.width, room)
            .into_iter()
            .map(|row| Line::styled(row, style)),
    );
    Paragraph::new(lines)
}

/// The end of `text`: its last wrapped rows, as many as `area` holds (streamed text
/// keeps its newest line in view).
pub(super) fn tail_of(text: &str, area: Rect, style: Style) -> Paragraph<'_> {
    let lines: Vec<Line> = wrap::tail(text, area.width, usize::from(area.height))
        .into_iter()
        .map(|row| Line::styled(row, style))
        .collect();
    Paragraph::new(lines)
}

/// A large answer in the Answer box `area` (borders included), read-only: the note
/// saying so and which keys act, the rows on screen, and on the bottom border how many
/// rows are above and below.
pub(super) fn large_answer(frame: &mut Frame, area: Rect, view: &View, large: &LargeAnswer) {
    let slots = &view.theme.slots;
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let note = large::note(view.app);
    let mut lines: Vec<Line> = wrap::wrap(&note, inner.width)
        .into_iter()
        .map(|r| Line::styled(&note[r], slots.note))
        .collect();
    let height = usize::from(inner.height).saturating_sub(lines.len());
    let (first, rows, total) = large.visible(inner.width, height);
    lines.extend(rows.into_iter().map(|row| Line::styled(row, slots.text)));
    frame.render_widget(Paragraph::new(lines), inner);
    let below = total.saturating_sub(first + height);
    let mut marks = Vec::new();
    if first > 0 {
        marks.push(format!("▲ {first} above"));
    }
    if below > 0 {
        marks.push(format!("▼ {below} more below"));
    }
    if !marks.is_empty() && area.height > 0 {
        let text = format!(" {} ", marks.join(" · "));
        let row = Rect {
            x: area.x + 1,
            y: area.bottom() - 1,
            width: area.width.saturating_sub(2),
            height: 1,
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, slots.note).right_aligned()),
            row,
        );
    }
}
