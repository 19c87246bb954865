//! Draws the status bar: the session state, the mode (and the source it hands queries
//! to), the latest message, and key hints taken from the keymap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::View;
use crate::app::{Action, KeyContext, Mode, Overlay, SessionState};

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
    // Said for the rest of the session: the person chose to go on unrecorded.
    if app.session.recording_stopped {
        spans.push(Span::styled(" not recording ", s.status_failed));
        spans.push(Span::raw(" "));
    }
    // A cancel that cannot take: that, and how to get out, is all that matters now.
    if let Some(note) = app.stuck_note() {
        spans.push(Span::styled(format!(" {note}"), s.status_failed));
        frame.render_widget(Paragraph::new(Line::from(spans)).style(s.status_bar), area);
        return;
    }
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
    // The transcript question takes the keys: hint its own, not the global ones.
    let question = match app.overlay {
        Some(Overlay::Unrecorded) => Some(KeyContext::Unrecorded),
        Some(Overlay::TranscriptPath { .. }) => Some(KeyContext::PathPrompt),
        _ => None,
    };
    let hints: &[(Action, &str)] = match (app.editing(), draft) {
        _ if question == Some(KeyContext::Unrecorded) => &[
            (Action::RetryAnswer, "retry"),
            (Action::RecordElsewhere, "write elsewhere"),
            (Action::GoUnrecorded, "go on unrecorded"),
            (Action::Quit, "quit"),
        ],
        _ if question == Some(KeyContext::PathPrompt) => {
            &[(Action::Select, "write"), (Action::Close, "back")]
        }
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
        let key = match question {
            Some(context) => app.keymap.hint_in(*action, context),
            None => app.keymap.hint_while(*action, app.editing()),
        };
        // A hint is shown whole or not at all: half a key is no offer.
        if let Some(key) = key {
            let (key, label) = (
                Span::styled(format!(" {key}"), s.key_hint),
                Span::raw(format!(" {label} ")),
            );
            let used: usize = spans.iter().map(Span::width).sum();
            if used + key.width() + label.width() <= area.width as usize {
                spans.extend([key, label]);
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(s.status_bar), area);
}
