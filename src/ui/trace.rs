//! Draws the Trace pane: one row per event (time, glyph, head, first line of the text),
//! rendering only the rows on screen so a 100k-event trace costs what 30 rows cost.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clip, View};
use crate::app::trace::{clock, TraceFilter, TraceKind};
use crate::app::Focus;
use crate::theme::Slots;

pub(super) fn kind_style(slots: &Slots, kind: TraceKind) -> ratatui::style::Style {
    match kind {
        _ if kind.is_error() => slots.trace_error,
        TraceKind::Query => slots.trace_query,
        TraceKind::Answer => slots.trace_answer,
        TraceKind::End(_) => slots.trace_end,
        _ => slots.trace_other,
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let trace = &view.app.trace;
    let slots = &view.theme.slots;
    let mut title = vec![view.title("Trace")];
    let mut facts = vec![format!("{}", trace.total())];
    if trace.filter() != TraceFilter::All {
        facts.push(format!(
            "filter {} ({})",
            trace.filter().label(),
            trace.len()
        ));
    }
    if let Some(search) = &trace.search {
        facts.push(format!("/{search}"));
    }
    if !trace.follow {
        facts.push("scrolled".into());
    }
    title.push(view.dim(format!("{} ", facts.join(" · "))));
    let block = view.pane_block(Focus::Trace, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let focused = view.app.focus == Focus::Trace;
    let (start, end) = trace.window(inner.height as usize);
    let cursor = trace.cursor();
    let width = inner.width as usize;
    let rows: Vec<Line> = (start..end)
        .filter_map(|n| trace.get(n).map(|e| (n, e)))
        .map(|(n, e)| {
            let head = format!(" {} {:<9} ", e.kind.glyph(), e.head);
            let used = 7 + head.chars().count();
            // "…" marks a summary taken from further down (what changed).
            let summary = match e.summary_at {
                0 => e.summary().to_string(),
                _ => format!("…{}", e.summary()),
            };
            let line = Line::from(vec![
                Span::styled(clock(e.t_ms), slots.trace_time),
                Span::styled(head, kind_style(slots, e.kind)),
                Span::raw(clip(&summary, width.saturating_sub(used))),
            ]);
            if focused && cursor == Some(n) {
                line.style(slots.selection)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(rows), inner);
}
