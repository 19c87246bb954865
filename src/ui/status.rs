//! Draws the status bar: the session state, the mode, key hints taken from the keymap,
//! and the latest message.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::View;
use crate::app::{Action, SessionState};

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
    let hints: &[(Action, &str)] = if app.editing() {
        &[
            (Action::Submit, "send"),
            (Action::NextQuery, "next"),
            (Action::FocusNext, "focus"),
            (Action::Quit, "quit"),
        ]
    } else {
        &[
            (Action::Help, "help"),
            (Action::FocusNext, "focus"),
            (Action::Run, "run"),
            (Action::Cancel, "cancel"),
            (Action::EditCtx, "ctx"),
            (Action::Open, "open"),
            (Action::Quit, "quit"),
        ]
    };
    for (action, label) in hints {
        if *action == Action::NextQuery && app.pending.queries.len() < 2 {
            continue;
        }
        // In the editor, typing keys do not reach the global bindings: hint a chord.
        let key = if app.editing() && *action == Action::Quit {
            app.keymap
                .bindings()
                .iter()
                .filter(|b| b.action == Action::Quit)
                .flat_map(|b| b.chords.iter())
                .find(|c| !c.is_typing())
                .map(|c| c.to_string())
        } else {
            app.keymap.hint(*action)
        };
        if let Some(key) = key {
            spans.push(Span::styled(format!(" {key}"), s.key_hint));
            spans.push(Span::raw(format!(" {label} ")));
        }
    }
    if let Some(msg) = &app.message {
        spans.push(Span::styled(format!("  {msg}"), s.note));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(s.status_bar), area);
}
