//! Draws the Stack pane (in the Trace's place while shown): the stopped VM's frames,
//! the selected frame's locals and upvalues (table entries indented under their
//! table), and the last expression evaluated with its value or error.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clip, View};
use crate::app::Focus;

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let stack = &view.app.stack;
    let slots = &view.theme.slots;
    let mut title = vec![view.title("Stack")];
    if let Some(at) = &stack.stopped {
        let mut facts = vec![format!("{}:{}", at.site.file, at.site.line)];
        if let Some(fork) = &at.fork {
            facts.push(format!("fork {fork}"));
        }
        if at.in_coroutine {
            facts.push("in a coroutine".into());
        }
        title.push(view.dim(format!("{} ", facts.join(" · "))));
    }
    let block = view.pane_block(Focus::Trace, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    if stack.stopped.is_none() {
        let line = Line::styled(" not stopped: --break FILE:LINE stops at a line", slots.dim);
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    let focused = view.app.focus == Focus::Trace && view.app.overlay.is_none();
    let mut rows: Vec<Line> = Vec::new();
    for (i, f) in stack.frames.iter().enumerate() {
        let marker = if i == stack.frame { "▶" } else { " " };
        let place = match f.line {
            Some(line) => format!("{}:{line}", f.file),
            None => f.file.clone(),
        };
        let text = format!("{marker}#{} {} {place}", f.level, f.function);
        let style = if f.internal { slots.dim } else { slots.text };
        rows.push(Line::styled(clip(&text, width), style));
    }
    for r in &stack.vars {
        let fold = match (r.var.handle, r.expanded) {
            (Some(_), true) => "▾ ",
            (Some(_), false) => "▸ ",
            _ => "  ",
        };
        let indent = "  ".repeat(r.depth);
        let head = format!("{indent}{fold}{} = ", r.var.name);
        // `l` a local, `u` an upvalue (a table entry takes its table's).
        let kind = format!("{} ", &r.scope[..1]);
        let used = head.chars().count() + kind.len();
        rows.push(Line::from(vec![
            Span::styled(kind, slots.dim),
            Span::styled(head, slots.title),
            Span::raw(clip(&r.var.value, width.saturating_sub(used))),
        ]));
    }
    if let Some(e) = &stack.error {
        rows.push(Line::styled(clip(e, width), slots.note));
    }
    // The cursor, then the rows that fit (the expression's line stays at the foot).
    let foot = usize::from(stack.eval.is_some());
    let height = (inner.height as usize).saturating_sub(foot);
    let visible: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .skip(stack.scroll)
        .take(height)
        .map(|(n, line)| {
            if focused && n == stack.cursor {
                line.style(slots.selection)
            } else {
                line
            }
        })
        .collect();
    let [body, eval] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(0),
        ratatui::layout::Constraint::Length(foot as u16),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(visible), body);
    if let Some((expr, result)) = &stack.eval {
        let (text, style) = match result {
            Ok(v) => (format!("= {expr} → {v}"), slots.text),
            Err(e) => (format!("= {expr} → error: {e}"), slots.note),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(clip(&text, width), style)),
            eval,
        );
    }
}
