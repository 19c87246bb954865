//! Draws the overlay on top of the panes, if any: help (generated from the keymap), an
//! event in full, the result, the ctx editor, the picker, and yes/no questions (the
//! transcript question is in `unrecorded.rs`).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{trace::kind_style, wrapped_rows, View};
use crate::app::layout::overlay_rect;
use crate::app::trace::clock;
use crate::app::{Action, Overlay};

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let Some(overlay) = &view.app.overlay else {
        return;
    };
    match overlay {
        Overlay::Help { scroll } => help(frame, area, view, *scroll),
        Overlay::Event { index, scroll } => event(frame, area, view, *index, *scroll),
        Overlay::Result { scroll } => result(frame, area, view, *scroll),
        Overlay::Ctx { editor, error } => {
            let rect = overlay_rect(area, 70, 20);
            let hint = view.app.keymap.hint(Action::ApplyCtx).unwrap_or_default();
            let block = boxed(view, "ctx (JSON)", &format!("{hint} apply · esc cancel"));
            let inner = block.inner(rect);
            frame.render_widget(Clear, rect);
            frame.render_widget(block, rect);
            let mut editor_area = inner;
            if let Some(err) = error {
                let [msg, rest] = split_top(inner, 1);
                frame.render_widget(
                    Paragraph::new(Line::styled(err.clone(), view.theme.slots.note)),
                    msg,
                );
                editor_area = rest;
            }
            frame.render_widget(editor.as_ref(), editor_area);
        }
        Overlay::Picker { selected } => picker(frame, area, view, *selected),
        Overlay::ConfirmQuit => confirm(
            frame,
            area,
            view,
            "A query is waiting for you. Quit anyway?",
        ),
        Overlay::ConfirmEmpty { id } => {
            confirm(frame, area, view, &format!("Send an empty answer to {id}?"))
        }
        Overlay::Unrecorded => super::unrecorded::choices(frame, area, view),
        Overlay::TranscriptPath { editor, error } => {
            super::unrecorded::path_prompt(frame, area, view, editor, error.as_deref())
        }
    }
}

pub(super) fn boxed(view: &View, title: &str, footer: &str) -> Block<'static> {
    Block::bordered()
        .border_style(view.theme.slots.overlay_border)
        .title(Span::styled(format!(" {title} "), view.theme.slots.title))
        .title_bottom(Span::styled(format!(" {footer} "), view.theme.slots.dim))
        .style(view.theme.slots.text)
}

fn split_top(area: Rect, rows: u16) -> [Rect; 2] {
    let rows = rows.min(area.height);
    [
        Rect {
            height: rows,
            ..area
        },
        Rect {
            y: area.y + rows,
            height: area.height - rows,
            ..area
        },
    ]
}

/// A scrollable text box; the scroll is clamped so it cannot run past the end.
fn scrolled(
    frame: &mut Frame,
    rect: Rect,
    block: Block<'static>,
    lines: Vec<Line<'static>>,
    plain: &str,
    scroll: u16,
) {
    let inner = block.inner(rect);
    let max = wrapped_rows(plain, inner.width).saturating_sub(inner.height as usize) as u16;
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(max), 0)),
        rect,
    );
}

fn help(frame: &mut Frame, area: Rect, view: &View, scroll: u16) {
    let rows = view.app.keymap.help_rows();
    let key_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut lines = Vec::new();
    let mut plain = String::new();
    let mut last_ctx = "";
    for (ctx, keys, desc) in rows {
        if ctx != last_ctx {
            lines.push(Line::styled(ctx.to_string(), view.theme.slots.title));
            plain.push_str(ctx);
            plain.push('\n');
            last_ctx = ctx;
        }
        let text = format!("  {keys:<key_w$}  ");
        plain.push_str(&format!("{text}{desc}\n"));
        lines.push(Line::from(vec![
            Span::styled(text, view.theme.slots.key_hint),
            Span::raw(desc),
        ]));
    }
    let rect = overlay_rect(area, 72, 40);
    scrolled(
        frame,
        rect,
        boxed(view, "Help", "esc close · ↑↓ scroll"),
        lines,
        plain.trim_end(),
        scroll,
    );
}

fn event(frame: &mut Frame, area: Rect, view: &View, index: usize, scroll: u16) {
    let Some(e) = view.app.trace.get(index) else {
        return;
    };
    let header = Line::from(vec![
        Span::styled(clock(e.t_ms), view.theme.slots.trace_time),
        Span::styled(
            format!(" {} {}", e.kind.glyph(), e.head),
            kind_style(&view.theme.slots, e.kind),
        ),
    ]);
    let mut lines = vec![header, Line::raw("")];
    lines.extend(e.body.lines().map(|l| Line::raw(l.to_string())));
    let plain = format!("x\n\n{}", e.body);
    let rect = overlay_rect(area, 90, 40);
    scrolled(
        frame,
        rect,
        boxed(view, "Event", "esc close · ↑↓ scroll"),
        lines,
        &plain,
        scroll,
    );
}

fn result(frame: &mut Frame, area: Rect, view: &View, scroll: u16) {
    let Some(outcome) = &view.app.session.outcome else {
        return;
    };
    let mut text = String::new();
    if let Some(err) = &outcome.error {
        text.push_str(&err.message);
        if let Some(site) = &err.site {
            text.push_str(&format!("\nat {site}"));
        }
        if let Some(tb) = &err.traceback {
            text.push_str(&format!("\n\n{tb}"));
        }
    } else {
        let json = outcome.result.clone().unwrap_or(serde_json::Value::Null);
        text = serde_json::to_string_pretty(&json).unwrap_or_default();
    }
    let lines = text.lines().map(|l| Line::raw(l.to_string())).collect();
    let title = format!("Result · {}", outcome.status.label());
    let rect = overlay_rect(area, 80, 30);
    scrolled(
        frame,
        rect,
        boxed(view, &title, "esc close · ↑↓ scroll"),
        lines,
        &text,
        scroll,
    );
}

fn picker(frame: &mut Frame, area: Rect, view: &View, selected: usize) {
    let choices = &view.app.choices;
    let rect = overlay_rect(area, 60, choices.len() as u16 + 4);
    let block = boxed(
        view,
        "Open a script or package",
        "↑↓ choose · enter open · esc close",
    );
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    if choices.is_empty() {
        frame.render_widget(Paragraph::new(view.dim("nothing to open")), inner);
        return;
    }
    let height = inner.height.max(1) as usize;
    let start = selected.saturating_sub(height - 1);
    let lines: Vec<Line> = choices
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, c)| {
            if i == selected {
                Line::styled(format!("▸ {c}"), view.theme.slots.selection)
            } else {
                Line::raw(format!("  {c}"))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn confirm(frame: &mut Frame, area: Rect, view: &View, question: &str) {
    let rect = overlay_rect(area, (question.chars().count() as u16 + 4).max(30), 5);
    let keys = &view.app.keymap;
    let footer = format!(
        "{} yes · {} no",
        keys.hint(Action::Confirm).unwrap_or_default(),
        keys.hint(Action::Deny).unwrap_or_default()
    );
    let block = boxed(view, "Confirm", &footer);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(vec![Line::raw(question.to_string())])
            .block(block)
            .wrap(Wrap { trim: true }),
        rect,
    );
}
