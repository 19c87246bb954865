//! Writing a transcript so that what it promises holds: an answer is in the file, and
//! synced to the disk, before anyone is told it was accepted.
//!
//! The writer keeps every line of the transcript in memory as well as in the file.
//! That costs the size of the transcript (prompts and answers are already in memory
//! elsewhere) and buys three things: a failed write loses nothing, because the next
//! attempt writes everything the file does not have yet; a torn line left by a failed
//! attempt is overwritten (the file is cut back to its last whole line); and the
//! transcript can be moved to another file (`move_to`) that then holds it complete.
//!
//! Two kinds of writes:
//! - [`TranscriptWriter::write`] records an event that cannot be refused (a log, a
//!   query, the end). If the file fails, the lines stay in memory and the failure is
//!   remembered ([`TranscriptWriter::failure`]); while it lasts, further events of
//!   this kind are only kept in memory (no retry per log line), except the end line,
//!   which tries again.
//! - [`TranscriptWriter::write_acknowledged`] records an event someone waits on (an
//!   answer, a query failure): all or nothing. It writes everything not yet in the
//!   file, then the event, and syncs; on any error the event is taken back out, so a
//!   refused answer never shows up in the transcript later.
//!
//! Only regular files are synced and cut back: a pipe or a device (`/dev/null`,
//! `/dev/stdout`) has nothing to sync and cannot seek, so there a failed attempt may
//! leave a partial line behind.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{line_fields, write_line};
use crate::engine::event::{SessionEvent, Stamped};

/// Where transcript bytes go. The file sink is the real one; tests inject failing ones.
pub trait TranscriptSink: Send {
    /// Writes `bytes` starting at byte `offset` of the transcript. With `cut` set, a
    /// previous attempt may have left bytes past `offset`: replace them, so the file
    /// ends with `bytes`. Sinks that cannot seek append and ignore both.
    fn write_at(&mut self, offset: u64, bytes: &[u8], cut: bool) -> io::Result<()>;
    /// Makes everything written so far durable (fsync for files).
    fn sync(&mut self) -> io::Result<()>;
    /// Can what was written still be found under the transcript's name? Not once the
    /// file was deleted or its directory removed: writes still succeed then, and all
    /// of it is lost when the file is closed.
    fn still_named(&self) -> io::Result<bool> {
        Ok(true)
    }
}

/// A transcript file on disk.
struct FileSink {
    file: File,
    /// A regular file: seekable, and worth syncing.
    regular: bool,
    /// Where the file's cursor is (regular files only).
    cursor: u64,
}

impl TranscriptSink for FileSink {
    fn write_at(&mut self, offset: u64, bytes: &[u8], cut: bool) -> io::Result<()> {
        if !self.regular {
            return self.file.write_all(bytes);
        }
        if self.cursor != offset {
            self.cursor = self.file.seek(SeekFrom::Start(offset))?;
        }
        // On error the cursor is unknown: force a seek next time.
        self.cursor = u64::MAX;
        self.file.write_all(bytes)?;
        let end = offset + bytes.len() as u64;
        if cut {
            self.file.set_len(end)?;
        }
        self.cursor = end;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        if self.regular {
            self.file.sync_data()
        } else {
            Ok(())
        }
    }

    #[cfg(unix)]
    fn still_named(&self) -> io::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        Ok(!self.regular || self.file.metadata()?.nlink() > 0)
    }
}

fn unnamed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the file was deleted, or its directory removed, while recording",
    )
}

/// What failed: creating the file, writing to it, or syncing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStep {
    Create,
    Write,
    Sync,
}

impl fmt::Display for WriteStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteStep::Create => "create",
            WriteStep::Write => "write",
            WriteStep::Sync => "sync",
        })
    }
}

/// A transcript that could not be written, naming the file and the OS error.
#[derive(Debug, thiserror::Error)]
#[error("transcript {}: {step} failed: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub step: WriteStep,
    #[source]
    pub source: io::Error,
}

impl WriteError {
    /// A copy to hand out while the original is remembered (`io::Error` is not
    /// `Clone`; kind and message are what readers need).
    fn duplicate(&self) -> WriteError {
        WriteError {
            path: self.path.clone(),
            step: self.step,
            source: io::Error::new(self.source.kind(), self.source.to_string()),
        }
    }
}

/// Appends one session's events to a transcript, keeping the whole text in memory.
pub struct TranscriptWriter {
    sink: Box<dyn TranscriptSink>,
    path: PathBuf,
    /// Every line so far, newline-terminated.
    text: Vec<u8>,
    /// Bytes of `text` handed to the sink successfully.
    written: usize,
    /// Bytes of `text` known to be synced. A failed sync may have dropped written
    /// pages, so after one everything from here is written again.
    synced: usize,
    /// A failed attempt may have left bytes past `written` in the file.
    torn: bool,
    /// `seq` of the next line (line sequence, starting at 1).
    next_seq: u64,
    /// The failure that left lines unwritten, until a write succeeds again.
    failure: Option<WriteError>,
    /// The sink is the file at `path`: it can be opened again.
    file_backed: bool,
    /// The file lost its name (deleted, directory removed): the next attempt opens
    /// `path` again (without creating directories) and writes everything.
    unnamed: bool,
}

impl fmt::Debug for TranscriptWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscriptWriter")
            .field("path", &self.path)
            .field("lines", &self.lines_written())
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

/// Opens (creating or truncating) the file at `path`, and its directories if asked.
fn open_file(path: &Path, create_dirs: bool) -> Result<FileSink, WriteError> {
    let failed = |source| WriteError {
        path: path.to_path_buf(),
        step: WriteStep::Create,
        source,
    };
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && create_dirs)
    {
        fs::create_dir_all(parent).map_err(failed)?;
    }
    let file = File::create(path).map_err(failed)?;
    let regular = file.metadata().map_err(failed)?.is_file();
    Ok(FileSink {
        file,
        regular,
        cursor: 0,
    })
}

impl TranscriptWriter {
    /// Creates (or truncates) the transcript at `path`, creating parent directories.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        let mut writer = Self::with_sink(path, Box::new(open_file(path, true)?));
        writer.file_backed = true;
        Ok(writer)
    }

    /// A writer over any sink; `path` is the name messages give it.
    pub fn with_sink(path: &Path, sink: Box<dyn TranscriptSink>) -> Self {
        TranscriptWriter {
            sink,
            path: path.to_path_buf(),
            text: Vec::new(),
            written: 0,
            synced: 0,
            torn: false,
            next_seq: 1,
            failure: None,
            file_backed: false,
            unnamed: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many lines the transcript has (in the file, unless [`Self::failure`]).
    pub fn lines_written(&self) -> u64 {
        self.next_seq - 1
    }

    /// The failure that keeps lines out of the file, if any.
    pub fn failure(&self) -> Option<&WriteError> {
        self.failure.as_ref()
    }

    /// Records an event that cannot be refused. Lines are flushed to the OS; the end
    /// line is also synced. On error the lines stay in memory for the next attempt.
    pub fn write(&mut self, ev: &Stamped) -> Result<(), WriteError> {
        self.append(ev);
        let ends = matches!(ev.event, SessionEvent::Finished(_));
        if let (Some(failure), false) = (&self.failure, ends) {
            return Err(failure.duplicate());
        }
        self.catch_up(ends)
            .inspect_err(|_| self.rewind_after_failure())
    }

    /// Records an event someone is waiting on, all or nothing: everything not yet in
    /// the file, then this event, written and synced. On error the event is not part
    /// of the transcript (a retry writes it again).
    pub fn write_acknowledged(&mut self, ev: &Stamped) -> Result<(), WriteError> {
        let (len, seq) = (self.text.len(), self.next_seq);
        self.append(ev);
        self.catch_up(true).inspect_err(|_| {
            self.text.truncate(len);
            self.next_seq = seq;
            self.rewind_after_failure();
        })
    }

    /// Writes the whole transcript so far to `path` (created or truncated) and syncs
    /// it; from then on this writer writes there. On error nothing changes.
    pub fn move_to(&mut self, path: &Path) -> Result<(), WriteError> {
        let mut sink = open_file(path, true)?;
        let failed = |step, source| WriteError {
            path: path.to_path_buf(),
            step,
            source,
        };
        sink.write_at(0, &self.text, false)
            .map_err(|e| failed(WriteStep::Write, e))?;
        sink.sync().map_err(|e| failed(WriteStep::Sync, e))?;
        if !sink.still_named().map_err(|e| failed(WriteStep::Sync, e))? {
            return Err(failed(WriteStep::Write, unnamed_error()));
        }
        self.sink = Box::new(sink);
        self.file_backed = true;
        self.unnamed = false;
        self.path = path.to_path_buf();
        self.written = self.text.len();
        self.synced = self.text.len();
        self.torn = false;
        self.failure = None;
        Ok(())
    }

    fn append(&mut self, ev: &Stamped) {
        for (kind, fields) in line_fields(&ev.event) {
            // Writing into a Vec cannot fail.
            let _ = write_line(&mut self.text, self.next_seq, ev.t_ms, kind, &fields);
            self.next_seq += 1;
        }
    }

    /// Hands the sink what it does not have yet, then syncs if asked. Clears the
    /// remembered failure on success; records it on error.
    fn catch_up(&mut self, sync: bool) -> Result<(), WriteError> {
        let result = self.try_catch_up(sync);
        match &result {
            Ok(()) => self.failure = None,
            Err(e) => self.failure = Some(e.duplicate()),
        }
        result
    }

    fn try_catch_up(&mut self, sync: bool) -> Result<(), WriteError> {
        let failed = |step, source| WriteError {
            path: self.path.clone(),
            step,
            source,
        };
        if self.unnamed {
            // Not creating directories: a removed one stays removed until the person
            // makes it again (or chooses another file).
            self.sink = Box::new(open_file(&self.path, false)?);
            (self.written, self.synced, self.torn, self.unnamed) = (0, 0, false, false);
        }
        if self.written < self.text.len() {
            let from = self.written;
            self.sink
                .write_at(from as u64, &self.text[from..], self.torn)
                .map_err(|e| failed(WriteStep::Write, e))?;
            self.written = self.text.len();
            self.torn = false;
        }
        if sync && self.synced < self.written {
            self.sink.sync().map_err(|e| failed(WriteStep::Sync, e))?;
            let named = self
                .sink
                .still_named()
                .map_err(|e| failed(WriteStep::Sync, e))?;
            if !named {
                self.unnamed = self.file_backed;
                return Err(failed(WriteStep::Write, unnamed_error()));
            }
            self.synced = self.written;
        }
        Ok(())
    }

    /// After a failure nothing past the last sync can be trusted to be in the file
    /// (a write may have stopped mid-line, a failed sync may have dropped pages):
    /// write it all again next time, cutting off whatever is there.
    fn rewind_after_failure(&mut self) {
        self.written = self.synced.min(self.text.len());
        self.torn = true;
    }
}

#[cfg(test)]
#[path = "transcript_writer_tests.rs"]
mod tests;
