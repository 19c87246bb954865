//! Draws the Pending pane (the query: id, "k of N" with its state, the call site's mode
//! override, options, system prompt and the wrapped, scrollable prompt; for a batch a
//! row of per-query markers on the bottom border) and the Answer box below it (the
//! editor or a review draft, streaming text, or what the answer source is doing).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::{wrapped, View};
use crate::app::pending::QueryStatus;
use crate::app::{Action, Focus, SessionState, CUT_OFF_MARK};

pub(super) fn render(frame: &mut Frame, area: Rect, editor_area: Rect, view: &View) {
    let app = view.app;
    let slots = &view.theme.slots;
    let pending = &app.pending;
    let Some(q) = pending.current() else {
        let block = view.pane_block(Focus::Pending, vec![view.title("Pending")]);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let stopped;
        let text = match app.state() {
            SessionState::Idle => "no session running",
            SessionState::Running => "the strategy is running…",
            SessionState::Stopped => {
                stopped = match app.keymap.hint(crate::app::Action::Continue) {
                    Some(key) => {
                        format!("the strategy is stopped in the debugger ({key} continues)")
                    }
                    None => "the strategy is stopped in the debugger".to_string(),
                };
                stopped.as_str()
            }
            SessionState::Finished => "finished",
            SessionState::Failed => "the strategy failed",
            SessionState::Cancelled => "cancelled",
            SessionState::Waiting => "",
        };
        let mut lines = vec![Line::from(view.dim(text))];
        // A failure in full, wrapped: the status bar has one line for it.
        if let Some(err) = app.session.outcome.as_ref().and_then(|o| o.error.as_ref()) {
            if err.message != text {
                lines.push(Line::styled(err.message.clone(), slots.note));
            }
            if let Some(site) = &err.site {
                lines.push(Line::from(view.dim(format!("at {site}"))));
            }
            if err.traceback.is_some() {
                let key = app.keymap.hint(Action::ShowResult).unwrap_or_default();
                lines.push(Line::from(view.dim(format!("{key} shows the traceback"))));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        render_answer_box(frame, editor_area, view, vec![view.title("Answer")], None);
        return;
    };
    let query = &q.query;
    let mut title = vec![
        view.title("Pending"),
        Span::styled(query.id.clone(), slots.title),
    ];
    let mut facts = Vec::new();
    if pending.queries.len() > 1 {
        facts.push(format!(
            "{} of {} {}",
            pending.selected + 1,
            pending.queries.len(),
            q.phase().label()
        ));
    }
    if let Some(mode) = app.site_mode(query) {
        facts.push(format!("site: {}", mode.name()));
    }
    if let Some(b) = query.batch {
        // "k of N" says it already when the pane holds just this batch.
        if b.index != pending.selected || b.size != pending.queries.len() {
            facts.push(format!("batch {}/{}", b.index + 1, b.size));
        }
    }
    facts.push(match query.max_tokens_capped {
        Some(cap) => format!("max {cap} tok (budget; asked {})", query.max_tokens),
        None => format!("max {} tok", query.max_tokens),
    });
    if query.grounded {
        facts.push("grounded".into());
    }
    if query.underspecified {
        facts.push("underspecified".into());
    }
    if let Some(fork) = &query.fork {
        facts.push(format!("fork {fork}"));
    }
    title.push(view.dim(format!(" · {} ", facts.join(" · "))));
    let mut block = view.pane_block(Focus::Pending, title);
    if pending.queries.len() > 1 {
        block = block.title_bottom(markers(view));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let (scroll, rows) = wrapped::render_body(frame, inner, view, q, pending.prompt_scroll);
    // Never cut the prompt silently: say there is more, and which key shows it.
    let below = rows.saturating_sub(scroll + inner.height as usize);
    if below > 0 || scroll > 0 {
        let mut marks = Vec::new();
        if scroll > 0 {
            marks.push(format!("▲ {scroll} above"));
        }
        if below > 0 {
            let key = app.keymap.hint(Action::PromptDown).unwrap_or_default();
            marks.push(format!("▼ {below} more below · {key}"));
        }
        let text = format!(" {} ", marks.join(" · "));
        let row = Rect {
            y: area.bottom().saturating_sub(1),
            ..area
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, slots.note).right_aligned()),
            Rect {
                x: row.x + 1,
                width: row.width.saturating_sub(2),
                ..row
            },
        );
    }

    let editing = app.editing();
    let key = |action| app.keymap.hint_while(action, editing);
    let mut answer_title = vec![view.title("Answer")];
    let body: Option<Paragraph> = match &q.status {
        QueryStatus::ForYou | QueryStatus::Held(_) => {
            let held = matches!(q.status, QueryStatus::Held(_));
            let mut hints = match (&q.draft, held) {
                (_, true) => {
                    answer_title.push(view.dim("held · "));
                    vec![(Action::Submit, "revise")]
                }
                (Some(draft), false) => {
                    answer_title.push(view.dim("draft · "));
                    if draft.is_cut_off() {
                        // The reviewer must know the text ends where the limit hit.
                        answer_title.push(Span::styled(
                            format!("{CUT_OFF_MARK} cut off · "),
                            slots.note,
                        ));
                    }
                    vec![(Action::Submit, "accept"), (Action::RejectDraft, "reject")]
                }
                (None, false) => vec![(Action::Submit, "send"), (Action::Forward, "forward")],
            };
            // One answer for every query of the batch still waiting.
            let others = pending
                .waiting_in(q.pause)
                .saturating_sub(usize::from(!held));
            if others > 0 {
                hints.push((Action::SendToAll, "send to all"));
            }
            if let Some(large) = &q.large {
                // Says why the editor is not there, and what each key does instead.
                answer_title.push(Span::styled(
                    format!("{} read-only · ", large.size()),
                    slots.note,
                ));
                if large.before.is_some() && q.draft.is_none() && !held {
                    hints.push((Action::RejectDraft, "undo paste"));
                }
                hints.push((Action::EditLarge, "edit (slow)"));
            }
            let hints: Vec<String> = hints
                .iter()
                .filter(|(a, _)| *a != Action::Forward || app.answer_source.is_some())
                .filter_map(|(a, label)| key(*a).map(|k| format!("{k} {label}")))
                .collect();
            answer_title.push(view.dim(format!("{} ", hints.join(" · "))));
            let block = answer_block(view, answer_title);
            let inner = block.inner(editor_area);
            frame.render_widget(block, editor_area);
            match &q.large {
                Some(large) => wrapped::large_answer(frame, editor_area, view, large),
                None => frame.render_widget(&q.editor, inner),
            }
            return;
        }
        QueryStatus::Asking(source) => match &q.failed {
            Some(error) => Some(
                Paragraph::new(vec![
                    Line::styled(format!("{source} failed; failing the query:"), slots.note),
                    Line::raw(error.clone()),
                ])
                .wrap(Wrap { trim: false }),
            ),
            None if q.streamed.is_empty() => {
                Some(Paragraph::new(view.dim(format!("asking {source}…"))))
            }
            None => {
                answer_title.push(view.dim(format!("streaming from {source}… ")));
                Some(wrapped::tail_of(
                    &q.streamed,
                    inner_of(editor_area),
                    slots.text,
                ))
            }
        },
        QueryStatus::Answered { source, text } => Some(wrapped::head_of(
            vec![Line::styled(format!("{source} answered:"), slots.dim)],
            text,
            inner_of(editor_area),
            slots.text,
        )),
        QueryStatus::Sent => Some(Paragraph::new(view.dim("sent; the strategy goes on…"))),
    };
    render_answer_box(frame, editor_area, view, answer_title, body);
}

/// Inside the Answer box's borders.
fn inner_of(area: Rect) -> Rect {
    Block::bordered().inner(area)
}

/// The batch's per-query markers (`1● 2◐ 3○ 4✗`), the shown one highlighted.
fn markers(view: &View) -> Line<'static> {
    let pending = &view.app.pending;
    let mut spans = vec![Span::raw(" ")];
    for (i, q) in pending.queries.iter().enumerate() {
        let text = format!("{}{}", i + 1, q.phase().marker());
        let style = if i == pending.selected {
            view.theme.slots.selection
        } else {
            view.theme.slots.dim
        };
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn answer_block(view: &View, title: Vec<Span<'static>>) -> Block<'static> {
    let editing = view.app.editing();
    Block::bordered()
        .border_style(view.theme.border(editing))
        .title(Line::from(title))
        .style(view.theme.slots.text)
}

fn render_answer_box(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    title: Vec<Span<'static>>,
    body: Option<Paragraph>,
) {
    let block = answer_block(view, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(body) = body {
        frame.render_widget(body, inner);
    }
}
