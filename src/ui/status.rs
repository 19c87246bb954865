//! Draws the status bar: the session state, the mode (and the source it hands queries
//! to), the latest message (else, briefly at a session's start, where its transcript
//! goes), and key hints taken from the keymap.

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
        SessionState::Waiting | SessionState::Stopped => s.status_waiting,
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
    // The debugger holds the strategy: where, and why.
    if let Some(at) = &app.stack.stopped {
        spans.push(Span::styled(format!(" {} ", at.status()), s.status_waiting));
        spans.push(Span::raw(" "));
    }
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
    // Where a replayed run is: `replaying 7/9`, `replay ended at q-8: …`.
    if let Some(label) = app.replay.label() {
        spans.push(Span::styled(format!(" {label} "), s.mode));
        spans.push(Span::raw(" "));
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
    // The script was edited: what R does (until a message says more).
    if app.replay.script_changed && app.message.is_none() {
        let note = crate::app::replay::changed_note(app);
        spans.push(Span::styled(format!(" {note} "), s.note));
    }
    // Where the transcript goes, briefly at a session's start (the full path is printed
    // on exit); a message says more, so it wins.
    let note = app.recording.note().filter(|_| app.message.is_none());
    if let Some(path) = note {
        let used: usize = spans.iter().map(Span::width).sum();
        let room = (area.width as usize).saturating_sub(used + "recording to ".len() + 2);
        spans.push(Span::styled(
            format!("recording to {} ", fit_path(path, room)),
            s.dim,
        ));
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
        (false, _) if app.stack.stopped.is_some() => &[
            (Action::Continue, "continue"),
            (Action::StepOver, "over"),
            (Action::StepInto, "into"),
            (Action::StepOut, "out"),
            (Action::Evaluate, "eval"),
            (Action::Help, "help"),
            (Action::Cancel, "cancel"),
        ],
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
        // Nor run without a script to run (the picker, `o`, chooses one).
        if *action == Action::Run && app.session.script.is_none() {
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

/// `path` in at most `width` columns: whole when it fits, else its middle elided with
/// `…`, keeping its root ("~/", "/") and as much of its end (the file name) as fits.
fn fit_path(path: &str, width: usize) -> String {
    let chars: Vec<char> = path.chars().collect();
    if chars.len() <= width {
        return path.to_string();
    }
    let head = path
        .find('/')
        .map_or(0, |i| path[..=i].chars().count())
        .min(width.saturating_sub(1) / 2);
    let tail_start = chars.len() - width.saturating_sub(head + 1);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[tail_start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::fit_path;

    #[test]
    fn long_paths_keep_their_file_name() {
        let p = "~/.local/share/alc-workbench/transcripts/1712345678901-echo.jsonl";
        assert_eq!(fit_path(p, 100), p);
        assert_eq!(fit_path(p, 40), "~/…/transcripts/1712345678901-echo.jsonl");
        assert_eq!(fit_path(p, 40).chars().count(), 40);
        assert!(fit_path(p, 10).chars().count() <= 10);
        assert_eq!(fit_path(p, 0), "…");
    }
}
