//! Draws the status bar: the session state, the mode (and the source it hands queries
//! to), the latest message, and key hints taken from the keymap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::View;
use crate::app::{Action, Mode, SessionState};

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let app = view.app;
    let s = &view.theme.slots;
    let state = app.state();
    let state_style = match state {
        SessionState::Idle => s.status_idle,
        SessionState::Running => s.status_running,
        SessionState::Waiting => s.status_waiting,
        SessionState::Finished => s.status_finished,
        SessionState::Failed => s.status_failed,
        SessionState::Cancelled => s.status_cancelled,
    };
    let mut spans = vec![
        Span::styled(format!(" {} ", state.label()), state_style),
        Span::raw(" "),
        Span::styled(format!(" {} ", app.mode.label()), s.mode),
        Span::raw(" "),
    ];
    // Which source auto and review hand queries to.
    if let (Some(source), true) = (&app.answer_source, app.mode != Mode::Manual) {
        spans.push(Span::styled(format!("{source} "), s.dim));
    }
    // The message first: the hints are the same every time, the message is news and
    // must not be the part cut off at the right edge.
    if let Some(msg) = &app.message {
        spans.push(Span::styled(format!(" {msg} "), s.note));
    }
    let draft = app.pending.current().is_some_and(|q| q.draft.is_some());
    let held = app
        .pending
        .current()
        .is_some_and(|q| matches!(q.status, crate::app::pending::QueryStatus::Held(_)));
    let hints: &[(Action, &str)] = match (app.editing(), draft) {
        (true, _) if held => &[
            (Action::Submit, "revise"),
            (Action::NextQuery, "next"),
            (Action::FocusNext, "focus"),
            (Action::Quit, "quit"),
        ],
        (true, true) => &[
            (Action::Submit, "accept"),
            (Action::RejectDraft, "reject"),
            (Action::NextQuery, "next"),
            (Action::FocusNext, "focus"),
            (Action::Quit, "quit"),
        ],
        (true, false) => &[
            (Action::Submit, "send"),
            (Action::Forward, "forward"),
            (Action::NextQuery, "next"),
            (Action::FocusNext, "focus"),
            (Action::Quit, "quit"),
        ],
        (false, _) => &[
            (Action::Help, "help"),
            (Action::FocusNext, "focus"),
            (Action::Run, "run"),
            (Action::CycleMode, "mode"),
            (Action::Cancel, "cancel"),
            (Action::EditCtx, "ctx"),
            (Action::Open, "open"),
            (Action::Quit, "quit"),
        ],
    };
    for (action, label) in hints {
        if *action == Action::NextQuery && app.pending.queries.len() < 2 {
            continue;
        }
        if *action == Action::Forward && app.answer_source.is_none() {
            continue;
        }
        // No offer that would do nothing: cancel only while a session runs.
        if *action == Action::Cancel && !app.is_running() {
            continue;
        }
        // In the editor, typing keys do not reach other bindings: hint a chord.
        if let Some(key) = app.keymap.hint_while(*action, app.editing()) {
            spans.push(Span::styled(format!(" {key}"), s.key_hint));
            spans.push(Span::raw(format!(" {label} ")));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(s.status_bar), area);
}
