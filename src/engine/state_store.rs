//! The backend of `alc.state`: a persistent JSON key-value store, one file per namespace.
//!
//! A namespace `ns` lives in `<state_dir>/<ns>.json`, a single JSON object, shared by
//! everything that opens it: the session's VM, its `alc.fork` children (other threads),
//! other sessions of the same workbench and other processes on the same `ALC_HOME`.
//! So nothing is cached: every operation is one read-modify-write of the file under a
//! per-namespace OS file lock (`flock` through `fd-lock`) on `<state_dir>/<ns>.json.lock`
//! (exclusive for writes, shared for reads). `flock` locks belong to an open file, not
//! to a process, so two threads of one process exclude each other as well as two
//! processes do. Lock files are never removed: removing one while another writer has it
//! open would let two writers hold "the" lock at once.
//!
//! Every write rewrites the whole file atomically (temp file in the same directory,
//! fsync, rename, fsync the directory), so a crash leaves either the old or the new file,
//! never half of one. Temp names carry the process id and a process-wide counter, so no
//! two writers ever share one. The lock is held only for the read-modify-write itself,
//! never while strategy code runs (see [`StateStore::compare_and_swap`], the base of
//! `alc.state.update`). It touches only its namespace file, its lock file and its temp
//! files in `state_dir`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Number, Value};

/// Longest namespace accepted, keeping `<ns>.json` and temp names under filename limits.
const MAX_NAMESPACE_LEN: usize = 200;

/// Distinguishes temp files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The namespace file exists but is not a JSON object. It is left untouched.
    #[error("state file {path} is corrupt at line {line}, column {column}: {msg}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("state file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("state key {key:?} holds a non-number; incr needs a number")]
    NotANumber { key: String },
    /// `incr` would produce NaN or an infinity, which JSON cannot hold.
    #[error("state key {key:?}: incr result is not a finite number")]
    NotFinite { key: String },
    #[error(
        "invalid state namespace {0:?}: use 1-{MAX_NAMESPACE_LEN} of A-Z a-z 0-9 _ . -, \
         not starting with '.'"
    )]
    InvalidNamespace(String),
}

/// One namespace's key-value store. Holds only paths: every call reads the file.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
    ns: String,
    path: PathBuf,
    lock_path: PathBuf,
}

/// Whether `ns` is safe as a file stem: no separators, no `..`, no hidden files (which
/// would also collide with our `.<ns>.json.tmp…` temp names).
fn validate_namespace(ns: &str) -> Result<(), StateError> {
    let valid_chars = ns
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ns.is_empty()
        || ns.len() > MAX_NAMESPACE_LEN
        || !valid_chars
        || ns.starts_with('.')
        || ns.contains("..")
    {
        return Err(StateError::InvalidNamespace(ns.to_string()));
    }
    Ok(())
}

impl StateStore {
    /// Names namespace `ns` under `state_dir`. Touches nothing: a missing file (or
    /// directory) is an empty store, and the directory is created on the first write.
    /// A file that is not a JSON object is a [`StateError::Corrupt`] naming it, on
    /// every operation, and is never overwritten.
    pub fn open(state_dir: &Path, ns: &str) -> Result<Self, StateError> {
        validate_namespace(ns)?;
        Ok(StateStore {
            dir: state_dir.to_path_buf(),
            ns: ns.to_string(),
            path: state_dir.join(format!("{ns}.json")),
            lock_path: state_dir.join(format!("{ns}.json.lock")),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The namespace file (which may not exist yet).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file beside it.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    pub fn get(&self, key: &str) -> Result<Option<Value>, StateError> {
        self.read(|map| map.get(key).cloned())
    }

    /// The value under `key` with its version: its compact JSON text, which
    /// [`StateStore::compare_and_swap`] compares against. `None` when absent.
    pub fn get_versioned(&self, key: &str) -> Result<Option<(Value, String)>, StateError> {
        self.read(|map| map.get(key).map(|value| (value.clone(), version_of(value))))
    }

    pub fn has(&self, key: &str) -> Result<bool, StateError> {
        self.read(|map| map.contains_key(key))
    }

    /// All keys, sorted.
    pub fn keys(&self) -> Result<Vec<String>, StateError> {
        self.read(|map| {
            let mut keys: Vec<String> = map.keys().cloned().collect();
            keys.sort();
            keys
        })
    }

    /// The whole namespace as it is now (empty when the file does not exist), under
    /// the shared lock: what a transcript records at the start of a session.
    pub fn snapshot(&self) -> Result<Map<String, Value>, StateError> {
        self.read(Map::clone)
    }

    /// Replaces the whole namespace with `map` (one atomic write). Replay uses it to
    /// fill a scratch state directory from a recorded snapshot.
    pub fn replace_all(&self, map: Map<String, Value>) -> Result<(), StateError> {
        self.modify(|current| {
            *current = map;
            Ok(((), true))
        })
    }

    /// Stores `value` under `key`.
    pub fn set(&self, key: &str, value: Value) -> Result<(), StateError> {
        self.modify(|map| {
            map.insert(key.to_string(), value);
            Ok(((), true))
        })
    }

    /// Removes `key`; `Ok(false)` (and no write) if it was absent.
    pub fn delete(&self, key: &str) -> Result<bool, StateError> {
        self.modify(|map| {
            let existed = map.remove(key).is_some();
            Ok((existed, existed))
        })
    }

    /// Sets `key` only if absent; `Ok(true)` if it was set.
    pub fn set_nx(&self, key: &str, value: Value) -> Result<bool, StateError> {
        self.modify(|map| {
            if map.contains_key(key) {
                return Ok((false, false));
            }
            map.insert(key.to_string(), value);
            Ok((true, true))
        })
    }

    /// Replaces (or, with `new = None`, deletes) `key` only if it still holds the
    /// value whose version `seen` is (from [`StateStore::get_versioned`]; `None`: only
    /// if still absent). `Ok(false)` and no write when someone changed it meanwhile.
    ///
    /// This is what makes `alc.state.update(k, fn)` atomic without holding the lock
    /// while `fn` runs: `fn` is arbitrary strategy code that may ask a question and
    /// wait for a person for an hour, and a lock held that long would stall every
    /// other writer (and a lock taken again inside `fn`, by `alc.state.get`, would
    /// deadlock). Instead update reads the value and its version, runs `fn` unlocked,
    /// and swaps; on a conflict it runs `fn` again on the newer value.
    pub fn compare_and_swap(
        &self,
        key: &str,
        seen: Option<&str>,
        new: Option<Value>,
    ) -> Result<bool, StateError> {
        self.modify(|map| {
            let current = map.get(key).map(version_of);
            if current.as_deref() != seen {
                return Ok((false, false));
            }
            let changed = match new {
                Some(value) => {
                    map.insert(key.to_string(), value);
                    true
                }
                None => map.remove(key).is_some(),
            };
            Ok((true, changed))
        })
    }

    /// Adds `delta` to the number under `key` (starting from `default` when absent),
    /// persists, and returns the new value.
    ///
    /// Integer-ness is kept: when the current value is a JSON integer (or the key is
    /// absent and `default` is integral) and `delta` is integral, the result is an
    /// integer (`1` + `1` is `2`, not `2.0`), computed exactly in `i64`; it falls back
    /// to floating point on overflow. A non-number value is [`StateError::NotANumber`].
    pub fn incr(&self, key: &str, delta: f64, default: f64) -> Result<Number, StateError> {
        self.modify(|map| {
            let result = incremented(map.get(key), key, delta, default)?;
            map.insert(key.to_string(), Value::Number(result.clone()));
            Ok((result, true))
        })
    }

    /// Runs `f` on the current contents under a shared lock. A missing directory is an
    /// empty store (nothing is created). Where the lock file cannot be opened (a
    /// read-only state directory) the file is read unlocked, which is still
    /// consistent: writers replace it by an atomic rename.
    fn read<R>(&self, f: impl FnOnce(&Map<String, Value>) -> R) -> Result<R, StateError> {
        if !self.dir.is_dir() {
            return Ok(f(&Map::new()));
        }
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path);
        let Ok(lock_file) = lock_file else {
            return Ok(f(&self.load()?));
        };
        let lock = fd_lock::RwLock::new(lock_file);
        let _guard = loop {
            match lock.read() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(self.lock_error())?,
            }
        };
        Ok(f(&self.load()?))
    }

    /// One read-modify-write under the exclusive lock: `f` changes the map and says
    /// whether it did (`false`: nothing is written).
    fn modify<R>(
        &self,
        f: impl FnOnce(&mut Map<String, Value>) -> Result<(R, bool), StateError>,
    ) -> Result<R, StateError> {
        fs::create_dir_all(&self.dir).map_err(|source| StateError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(self.lock_error())?;
        let mut lock = fd_lock::RwLock::new(lock_file);
        // `flock` can be interrupted by a signal before it gets the lock: try again.
        let _guard = loop {
            match lock.write() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(self.lock_error())?,
            }
        };
        let mut map = self.load()?;
        let (result, changed) = f(&mut map)?;
        if changed {
            self.persist(&map)?;
        }
        Ok(result)
    }

    fn lock_error(&self) -> impl FnOnce(io::Error) -> StateError + '_ {
        |source| StateError::Io {
            path: self.lock_path.clone(),
            source,
        }
    }

    /// The file's contents now; a missing file is empty.
    fn load(&self) -> Result<Map<String, Value>, StateError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => parse_object(&text, &self.path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Map::new()),
            Err(source) => Err(StateError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Atomic rewrite: temp file in the same directory (so rename cannot cross
    /// filesystems), fsync it, rename over the namespace file, then fsync the directory
    /// so the rename itself survives a crash.
    fn persist(&self, map: &Map<String, Value>) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(map)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            .map_err(|source| StateError::Io {
                path: self.path.clone(),
                source,
            })?;
        let temp_path = self.dir.join(format!(
            ".{}.json.tmp.{}.{}",
            self.ns,
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written =
            write_synced(&temp_path, &bytes).and_then(|()| fs::rename(&temp_path, &self.path));
        if let Err(source) = written {
            // Best effort: the temp file is ours and useless now.
            let _ = fs::remove_file(&temp_path);
            return Err(StateError::Io {
                path: self.path.clone(),
                source,
            });
        }
        sync_dir(&self.dir);
        Ok(())
    }
}

/// A value's version for compare-and-swap: its compact JSON text. Two reads of the
/// same stored value give the same text, and any change to the value changes it.
fn version_of(value: &Value) -> String {
    value.to_string()
}

/// The number `incr` stores: `current` (or `default` when absent) plus `delta`.
fn incremented(
    current: Option<&Value>,
    key: &str,
    delta: f64,
    default: f64,
) -> Result<Number, StateError> {
    let current = match current {
        None => number_from_f64(default, key)?,
        Some(Value::Number(n)) => n.clone(),
        Some(_) => {
            return Err(StateError::NotANumber {
                key: key.to_string(),
            })
        }
    };
    let integer_sum = match (current.as_i64(), integral_i64(delta)) {
        (Some(a), Some(b)) => a.checked_add(b).map(Number::from),
        _ => None,
    };
    match integer_sum {
        Some(n) => Ok(n),
        None => {
            let base = current.as_f64().ok_or_else(|| StateError::NotANumber {
                key: key.to_string(),
            })?;
            Number::from_f64(base + delta).ok_or_else(|| StateError::NotFinite {
                key: key.to_string(),
            })
        }
    }
}

/// Parses a namespace file, which must hold one JSON object.
fn parse_object(text: &str, path: &Path) -> Result<Map<String, Value>, StateError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(StateError::Corrupt {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            msg: format!("expected a JSON object, found {}", json_type_name(&other)),
        }),
        Err(e) => Err(StateError::Corrupt {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            msg: e.to_string(),
        }),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `Some(i)` when `x` is a whole number exactly representable as `i64`.
fn integral_i64(x: f64) -> Option<i64> {
    // 2^63 as f64 is exact; anything below it and integral converts without loss.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (x.is_finite() && x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x)).then_some(x as i64)
}

/// The JSON number for an `incr` default: an integer when integral.
fn number_from_f64(x: f64, key: &str) -> Result<Number, StateError> {
    match integral_i64(x) {
        Some(i) => Ok(Number::from(i)),
        None => Number::from_f64(x).ok_or_else(|| StateError::NotFinite {
            key: key.to_string(),
        }),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes directory metadata (the rename). Not every platform or filesystem allows
/// syncing a directory; the data itself is already synced, so failures are ignored.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
#[path = "state_store_tests.rs"]
mod tests;
