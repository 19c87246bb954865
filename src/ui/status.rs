//! Draws the status bar: the session state, the mode (and the source it hands queries
//! to), key hints taken from the keymap, and the latest message.

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
    let hints: &[(Action, &str)] = match (app.editing(), draft) {
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
    let hints_from = spans.len();
    for (action, label) in hints {
        if *action == Action::NextQuery && app.pending.queries.len() < 2 {
            continue;
        }
        if *action == Action::Forward && app.answer_source.is_none() {
            continue;
        }
        // In the editor, typing keys do not reach other bindings: hint a chord.
        if let Some(key) = app.keymap.hint_while(*action, app.editing()) {
            spans.push(Span::styled(format!(" {key}"), s.key_hint));
            spans.push(Span::raw(format!(" {label} ")));
        }
    }
    // The note is brief: rather than cut hints off at the edge, leave them out until
    // it goes.
    let used: usize = spans.iter().map(Span::width).sum();
    if note.is_some() && used > area.width as usize {
        spans.truncate(hints_from);
    }
    if let Some(msg) = &app.message {
        spans.push(Span::styled(format!("  {msg}"), s.note));
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
