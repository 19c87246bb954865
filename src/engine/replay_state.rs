//! `alc.state` for replay: the snapshot of its namespace every session records at
//! start (on the `session` line), and the scratch directory a replay runs on: a fresh
//! temporary directory holding the recorded namespace snapshot (or, when the
//! recording only has its sha256, a copy of the current namespace), removed when
//! dropped. It only reads the real `$ALC_HOME/state`, never writes it; reads go
//! through the store's shared lock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::event::{StateSnapshot, STATE_SNAPSHOT_MAX_BYTES};
use crate::engine::state_store::StateStore;

static SCRATCH_COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct ScratchState {
    dir: PathBuf,
    notice: Option<String>,
}

impl ScratchState {
    /// Creates the directory and fills the snapshot's namespace.
    pub fn create(snapshot: &StateSnapshot, alc_home: &Path) -> Result<ScratchState, String> {
        let dir = std::env::temp_dir().join(format!(
            "alc-workbench-replay-{}-{}",
            std::process::id(),
            SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).map_err(|e| {
            format!(
                "cannot create the scratch state directory {}: {e}",
                dir.display()
            )
        })?;
        let mut scratch = ScratchState { dir, notice: None };
        let ns = &snapshot.ns;
        let values = match (&snapshot.values, &snapshot.sha256) {
            (Some(values), _) => values.clone(),
            (None, Some(recorded_sha)) => {
                let current = StateStore::open(&alc_home.join("state"), ns)
                    .and_then(|s| s.snapshot())
                    .map_err(|e| format!("cannot copy the current state for the replay: {e}"))?;
                let text = Value::Object(current.clone()).to_string();
                let sha = format!("{:x}", Sha256::digest(text.as_bytes()));
                let same = if &sha == recorded_sha {
                    "unchanged since the recording"
                } else {
                    "it has changed since the recording"
                };
                scratch.notice = Some(format!(
                    "note: the recorded alc.state namespace {ns:?} was over 1 MiB, so only its \
                     sha256 was recorded: replaying on a copy of the current state ({same})"
                ));
                current
            }
            (None, None) => {
                return Err(format!(
                    "the state snapshot of namespace {ns:?} is corrupt: it has neither \
                     `values` nor `sha256`"
                ))
            }
        };
        if !values.is_empty() {
            StateStore::open(&scratch.dir, ns)
                .and_then(|s| s.replace_all(values))
                .map_err(|e| format!("cannot fill the scratch state: {e}"))?;
        }
        Ok(scratch)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// What to tell the person about the state (over-1-MiB snapshots).
    pub fn notice(&self) -> Option<String> {
        self.notice.clone()
    }
}

impl Drop for ScratchState {
    fn drop(&mut self) {
        // Best effort: it is ours and in the temp directory.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The namespace `ctx._ns` (default `default`), as `alc.state` will see it.
pub fn state_namespace(ctx: &Value) -> String {
    ctx.get("_ns")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string()
}

/// The session's state namespace at start, for the `session` line: whole up to
/// [`STATE_SNAPSHOT_MAX_BYTES`], else its sha256; a state file that cannot be read is
/// recorded as the error (the strategy will meet the same error when it uses it).
pub(crate) fn snapshot_state(state_dir: &Path, ctx: &Value) -> StateSnapshot {
    let ns = state_namespace(ctx);
    let values = StateStore::open(state_dir, &ns).and_then(|store| store.snapshot());
    let mut snapshot = StateSnapshot {
        ns,
        ..StateSnapshot::default()
    };
    match values {
        Ok(values) => {
            let text = Value::Object(values.clone()).to_string();
            if text.len() > STATE_SNAPSHOT_MAX_BYTES {
                snapshot.sha256 = Some(format!("{:x}", Sha256::digest(text.as_bytes())));
                snapshot.bytes = Some(text.len() as u64);
            } else {
                snapshot.values = Some(values);
            }
        }
        Err(e) => snapshot.error = Some(e.to_string()),
    }
    snapshot
}
