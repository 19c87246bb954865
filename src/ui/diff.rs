//! Draws the diff overlay: this run against its parent (or the transcript it
//! replayed), one row per query (same / answer changed / prompt changed / new /
//! gone) and a row for the result; an open row shows its texts (a unified diff), the
//! result side by side or as a JSON diff. Touches nothing but the frame.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::overlay::{boxed, scrolled};
use super::View;
use crate::app::layout::TextOverlay;
use crate::app::replay::Change;
use crate::app::replay::{counts_line, is_change, Detail, DiffOverlay};
use crate::app::Action;

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View, diff: &DiffOverlay) {
    let keys = &view.app.keymap;
    let key = |a| keys.hint(a).unwrap_or_default();
    let name = |p: &std::path::Path| {
        p.file_name()
            .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
    };
    let title = format!(
        "Diff · {} → {}",
        name(&diff.data.left.path),
        name(&diff.data.right.path)
    );
    let rect = TextOverlay::Diff.rect(area);
    match diff.open {
        None => {
            let footer = format!(
                "↑↓ select · {} texts · {} results · {} close",
                key(Action::Select),
                key(Action::DiffView),
                key(Action::Close)
            );
            rows(frame, rect, view, diff, boxed(view, &title, &footer));
        }
        Some(i) => {
            let footer = format!(
                "↑↓ scroll · {} back · {} results side by side / JSON diff",
                key(Action::Select),
                key(Action::DiffView)
            );
            let block = boxed(view, &format!("{title} · {}", diff.row_label(i)), &footer);
            match diff.detail(i) {
                Detail::Lines(lines) => {
                    let plain = lines.join("\n");
                    let styled = lines.into_iter().map(|l| diff_line(view, l)).collect();
                    scrolled(
                        frame,
                        area,
                        TextOverlay::Diff,
                        block,
                        styled,
                        &plain,
                        diff.scroll,
                    );
                }
                Detail::SideBySide(old, new) => side_by_side(frame, rect, view, block, &old, &new),
            }
        }
    }
}

/// The list: a count line, then a row per query and the result row.
fn rows(frame: &mut Frame, rect: Rect, view: &View, diff: &DiffOverlay, block: Block<'static>) {
    let s = &view.theme.slots;
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let mut lines = vec![
        Line::styled(counts_line(&diff.data.diff), s.note),
        Line::raw(""),
    ];
    let height = inner.height.saturating_sub(2) as usize;
    let first = diff.selected.saturating_sub(height.saturating_sub(1));
    for i in (first..diff.rows()).take(height) {
        let (label, style) = match diff.data.diff.queries.get(i) {
            Some(row) => (row.change.label(), change_style(view, row.change)),
            None if diff.data.diff.result_same => ("same", s.dim),
            None => ("changed", s.note),
        };
        let marker = if i == diff.selected { "›" } else { " " };
        let mut line = Line::from(vec![
            Span::raw(format!("{marker} {:<24} ", diff.row_label(i))),
            Span::styled(label.to_string(), style),
        ]);
        if i == diff.selected {
            line = line.style(s.selection);
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn change_style(view: &View, change: Change) -> Style {
    let s = &view.theme.slots;
    match change {
        Change::Same => s.dim,
        Change::Gone => s.trace_error,
        Change::New => s.trace_answer,
        _ if is_change(change) => s.note,
        _ => s.text,
    }
}

/// A unified diff line in its colour: removed, added, hunk header.
fn diff_line(view: &View, line: String) -> Line<'static> {
    let s = &view.theme.slots;
    let style = if line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@") {
        s.dim
    } else if line.starts_with('-') {
        s.trace_error
    } else if line.starts_with('+') {
        s.trace_answer
    } else {
        s.text
    };
    Line::styled(line, style)
}

/// The two results in two columns: the parent's left, this run's right.
fn side_by_side(
    frame: &mut Frame,
    rect: Rect,
    view: &View,
    block: Block<'static>,
    old: &str,
    new: &str,
) {
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
    for (area, title, text) in [(left, "parent", old), (right, "this run", new)] {
        let mut lines = vec![Line::styled(title.to_string(), view.theme.slots.title)];
        lines.extend(text.lines().map(|l| Line::raw(l.to_string())));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}
