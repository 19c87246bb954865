//! Where sessions record their transcripts: every file this workbench wrote to (the
//! CLI prints them on exit) and the status bar's brief "recording to PATH" note, shown
//! from a session's start for a few seconds or until the first key. No I/O.

use std::path::PathBuf;

/// How long (session time) the "recording to" note stays without a key pressed.
pub const NOTE_MS: u64 = 5_000;

#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Every transcript a session wrote to, oldest first, each once.
    pub paths: Vec<PathBuf>,
    /// The path as the note shows it, and the session time the note goes at.
    note: Option<(String, u64)>,
}

impl Recording {
    /// A session started recording to `path`; `shown` is how the status bar writes it
    /// (the home directory as `~`).
    pub fn opened(&mut self, path: PathBuf, shown: String, now_ms: u64) {
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
        self.note = Some((shown, now_ms + NOTE_MS));
    }

    /// The session moved its transcript to `path` (after a failed write): it is listed
    /// on exit too. No note: the status bar's message says so already.
    pub fn moved(&mut self, path: PathBuf) {
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
    }

    /// The path the status bar shows now, if the note is up.
    pub fn note(&self) -> Option<&str> {
        self.note.as_ref().map(|(shown, _)| shown.as_str())
    }

    /// The session clock moved on: the note goes once its time is up.
    pub fn tick(&mut self, now_ms: u64) {
        if self
            .note
            .as_ref()
            .is_some_and(|(_, until)| now_ms >= *until)
        {
            self.note = None;
        }
    }

    /// A key was pressed: the person has seen it.
    pub fn dismiss(&mut self) {
        self.note = None;
    }
}
