//! Replay and time travel, runtime side: reading a transcript for `R` and `w`,
//! comparing two for the diff overlay (both on a blocking task, off the loop), and
//! watching the script file for edits (a stat every [`WATCH_EVERY`] on its own task).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{interval, MissedTickBehavior};

use crate::app::replay::ReadPurpose;
use crate::app::Msg;

/// Reads a transcript for `R` or `w`.
pub(super) fn read(path: &Path, purpose: ReadPurpose) -> Msg {
    let result = crate::engine::replay::Recording::load(path)
        .map(Arc::new)
        .map_err(|e| e.to_string());
    Msg::TranscriptRead { purpose, result }
}

/// Reads two transcripts and compares them, for the diff overlay.
pub(super) fn compare(
    left: &Path,
    right: &Path,
) -> Result<Arc<crate::app::replay::DiffData>, String> {
    use crate::engine::replay::{diff, Recording};
    let left = Recording::load(left).map_err(|e| e.to_string())?;
    let right = Recording::load(right).map_err(|e| e.to_string())?;
    let diff = diff(&left, &right);
    Ok(Arc::new(crate::app::replay::DiffData {
        left: Arc::new(left),
        right: Arc::new(right),
        diff,
    }))
}

/// How often the script file is looked at: a stat, cheap enough to do while idle.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Watches `path` (its size and modification time, by a stat every
/// [`WATCH_EVERY`], on this task, not the loop's) and says when it changed since the
/// watch began.
pub(super) async fn watch_script(path: PathBuf, changed: impl Fn(PathBuf) -> bool) {
    let stamp = |m: std::fs::Metadata| (m.len(), m.modified().ok());
    let mut last = std::fs::metadata(&path).ok().map(stamp);
    let mut every = interval(WATCH_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let now = std::fs::metadata(&path).ok().map(stamp);
        if now.is_some() && now != last {
            last = now;
            if !changed(path.clone()) {
                return; // the loop is gone
            }
        }
    }
}
