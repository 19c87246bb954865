//! [`FlakySink`]: a transcript sink in memory that tests break and heal, standing in
//! for a disk that fills up or fails to sync. It behaves like a file where it matters:
//! a full disk takes part of a write (a torn line) before failing, and a failed sync
//! loses what was written since the last good one (as Linux may drop dirty pages).

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::transcript::{TranscriptSink, TranscriptWriter};

/// How the sink fails until healed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Each write takes at most `keep` bytes, then fails with ENOSPC.
    DiskFull { keep: usize },
    /// Writes succeed, syncs fail with EIO and lose what was not yet synced.
    SyncFails,
}

#[derive(Default)]
struct State {
    data: Vec<u8>,
    durable: usize,
    fault: Option<Fault>,
    calls: usize,
}

/// A handle on the shared state; every clone sees the same "file".
#[derive(Clone, Default)]
pub struct FlakySink {
    state: Arc<Mutex<State>>,
}

impl FlakySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// A transcript writer over this sink, named `path` in messages.
    pub fn writer(&self, path: &Path) -> TranscriptWriter {
        TranscriptWriter::with_sink(path, Box::new(self.clone()))
    }

    pub fn break_with(&self, fault: Fault) {
        self.lock().fault = Some(fault);
    }

    pub fn heal(&self) {
        self.lock().fault = None;
    }

    /// What the "file" holds now.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock().data).into_owned()
    }

    /// How many writes and syncs the writer attempted.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl TranscriptSink for FlakySink {
    fn write_at(&mut self, offset: u64, bytes: &[u8], cut: bool) -> io::Result<()> {
        let mut st = self.lock();
        st.calls += 1;
        let offset = offset as usize;
        let take = match st.fault {
            Some(Fault::DiskFull { keep }) => keep.min(bytes.len()),
            _ => bytes.len(),
        };
        if st.data.len() < offset {
            st.data.resize(offset, 0); // a writer bug would show as NUL bytes
        }
        let end = offset + take;
        let overlap = st.data.len().min(end) - offset;
        st.data[offset..offset + overlap].copy_from_slice(&bytes[..overlap]);
        st.data.extend_from_slice(&bytes[overlap..take]);
        if let Some(Fault::DiskFull { .. }) = st.fault {
            return Err(io::Error::from_raw_os_error(28));
        }
        if cut {
            st.data.truncate(end);
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut st = self.lock();
        st.calls += 1;
        if st.fault == Some(Fault::SyncFails) {
            let durable = st.durable;
            st.data.truncate(durable);
            return Err(io::Error::from_raw_os_error(5));
        }
        st.durable = st.data.len();
        Ok(())
    }
}
