//! When the transcript cannot record an answer: the answer was not acknowledged, the
//! strategy still waits, and the person chooses how to go on. Retry (send the same
//! answers again), record elsewhere (a path prompt; the new file gets the whole
//! transcript, then the answers are sent), or go on unrecorded (an explicit choice the
//! session records as an event). Pure: the runtime does the disk work off the loop
//! task and reports back with `Msg::TranscriptRedirected` / `Msg::RecordingStopped`.

use std::path::{Path, PathBuf};

use ratatui_textarea::{CursorMove, TextArea, WrapMode};

use super::pending::QueryStatus;
use super::{App, Effect, Overlay};
use crate::engine::{Answer, QueryId};

/// The reason recorded when the person chooses to go on without a transcript.
pub const STOP_REASON: &str = "the person chose to go on unrecorded after a failed write";

/// An answer or failure the session refused to acknowledge, kept to send again.
#[derive(Debug, Clone, PartialEq)]
pub enum HeldSend {
    Answer { id: QueryId, answer: Answer },
    Fail { id: QueryId, error: String },
}

impl HeldSend {
    pub fn id(&self) -> &str {
        match self {
            HeldSend::Answer { id, .. } | HeldSend::Fail { id, .. } => id,
        }
    }

    fn effect(self) -> Effect {
        match self {
            HeldSend::Answer { id, answer } => Effect::AnswerQuery { id, answer },
            HeldSend::Fail { id, error } => Effect::FailQuery { id, error },
        }
    }
}

/// What the person is being asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct Unrecorded {
    /// The transcript file that failed.
    pub path: PathBuf,
    /// The whole error: the file, what failed, the OS error, what was not acknowledged.
    pub error: String,
    /// What to send again once the person has chosen, in the order refused.
    pub held: Vec<HeldSend>,
    /// A choice is being carried out (its description), waiting for the runtime.
    pub working: Option<String>,
}

/// The session refused `send` because the transcript at `path` failed.
pub(super) fn refused(app: &mut App, send: HeldSend, path: PathBuf, error: String) {
    if !app.is_running() {
        return; // a late reply for a session already over
    }
    if let Some(q) = app.pending.find_mut(send.id()) {
        // Back to the person; the editor still holds what they typed.
        q.status = QueryStatus::ForYou;
        q.note = Some(format!("not recorded, so not sent: {error}"));
    }
    let trouble = app.unrecorded.get_or_insert_with(|| Unrecorded {
        path: path.clone(),
        error: error.clone(),
        held: Vec::new(),
        working: None,
    });
    trouble.path = path;
    trouble.error = error.clone();
    trouble.working = None;
    trouble.held.retain(|h| h.id() != send.id());
    trouble.held.push(send);
    // The whole error is in the question and above the editor; this says what now.
    app.message = Some("answer not recorded, so not sent: choose how to go on".into());
    if !matches!(app.overlay, Some(Overlay::TranscriptPath { .. })) {
        app.overlay = Some(Overlay::Unrecorded);
    }
}

/// Sends every held answer again, in the same file.
pub(super) fn retry(app: &mut App, fx: &mut Vec<Effect>) {
    if app.unrecorded.as_ref().is_some_and(|t| t.working.is_none()) {
        resend(app, fx);
        app.message = Some("retrying: recording the answer again".into());
    }
}

/// Opens the path prompt, filled with a new file in the transcripts directory.
pub(super) fn ask_path(app: &mut App) {
    let Some(trouble) = &app.unrecorded else {
        return;
    };
    let suggested = suggested_path(&trouble.path, app.recovery_dir.as_deref());
    let mut editor = TextArea::new(vec![suggested.display().to_string()]);
    editor.set_wrap_mode(WrapMode::Glyph);
    editor.move_cursor(CursorMove::End);
    app.overlay = Some(Overlay::TranscriptPath {
        editor: Box::new(editor),
        error: None,
    });
}

/// `dir/<stem>-recovered.jsonl`: in `dir` when given (the data directory), else next
/// to the failed file.
pub fn suggested_path(failed: &Path, dir: Option<&Path>) -> PathBuf {
    let stem = failed
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "transcript".into());
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| failed.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    dir.join(format!("{stem}-recovered.jsonl"))
}

/// The path prompt's Enter: ask the runtime to move the transcript there.
pub(super) fn confirm_path(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(Overlay::TranscriptPath { editor, error }) = &mut app.overlay else {
        return;
    };
    let text = editor.lines().join("");
    let text = text.trim();
    if text.is_empty() {
        *error = Some("type the path of the file to write the transcript to".into());
        return;
    }
    let path = PathBuf::from(text);
    *error = None;
    if let Some(trouble) = &mut app.unrecorded {
        trouble.working = Some(format!("writing the transcript to {}…", path.display()));
    }
    fx.push(Effect::RedirectTranscript(path));
}

/// The runtime moved the transcript (or could not).
pub(super) fn redirected(
    app: &mut App,
    path: PathBuf,
    result: Result<(), String>,
    fx: &mut Vec<Effect>,
) {
    if app.unrecorded.is_none() {
        return;
    }
    match result {
        Ok(()) => {
            resend(app, fx);
            app.message = Some(format!(
                "transcript now written to {}; answer sent again",
                path.display()
            ));
        }
        Err(error) => {
            if let Some(trouble) = &mut app.unrecorded {
                trouble.working = None;
            }
            match &mut app.overlay {
                Some(Overlay::TranscriptPath { error: shown, .. }) => *shown = Some(error),
                _ => app.message = Some(error),
            }
        }
    }
}

/// Go on unrecorded: stop recording first, send the answers once that is done.
pub(super) fn go_unrecorded(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(trouble) = &mut app.unrecorded else {
        return;
    };
    if trouble.working.is_some() {
        return;
    }
    trouble.working = Some("stopping the transcript…".into());
    fx.push(Effect::StopRecording {
        reason: STOP_REASON.into(),
    });
}

/// The session stopped recording: later answers are acknowledged without a transcript.
pub(super) fn recording_stopped(app: &mut App, fx: &mut Vec<Effect>) {
    app.session.recording_stopped = true;
    if app.unrecorded.is_some() {
        resend(app, fx);
        app.message = Some("not recording: answers go on without a transcript".into());
    }
}

/// Sends the held answers again and closes the question.
fn resend(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(trouble) = app.unrecorded.take() else {
        return;
    };
    if matches!(
        app.overlay,
        Some(Overlay::Unrecorded | Overlay::TranscriptPath { .. })
    ) {
        app.overlay = None;
    }
    for send in trouble.held {
        if let Some(q) = app.pending.find_mut(send.id()) {
            q.status = QueryStatus::Sent;
            q.note = None;
        }
        fx.push(send.effect());
    }
}

/// The session is over or replaced: nothing is waiting for an answer any more.
pub(super) fn forget(app: &mut App) {
    app.unrecorded = None;
    if matches!(
        app.overlay,
        Some(Overlay::Unrecorded | Overlay::TranscriptPath { .. })
    ) {
        app.overlay = None;
    }
}
