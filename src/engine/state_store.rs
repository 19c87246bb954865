//! The backend of `alc.state`: a persistent JSON key-value store, one file per namespace.
//!
//! A namespace `ns` lives in `<state_dir>/<ns>.json`, a single JSON object. The store
//! reads it once on [`StateStore::open`] and keeps it in memory; every write rewrites
//! the whole file atomically (temp file in the same directory, fsync, rename), so a
//! crash leaves either the old or the new file, never half of one. It touches only its
//! own namespace file and its temp files in `state_dir`.
//!
//! One store per namespace per process is assumed: two stores on the same file do not
//! see each other's writes, and the last writer wins.

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

/// One namespace's key-value store, cached in memory and persisted on every write.
#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    ns: String,
    path: PathBuf,
    map: Map<String, Value>,
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
    /// Opens namespace `ns` under `state_dir`. A missing file (or directory) is an empty
    /// store; the directory is created on the first write. A file that is not a JSON
    /// object is a [`StateError::Corrupt`] naming it, and is never overwritten.
    pub fn open(state_dir: &Path, ns: &str) -> Result<Self, StateError> {
        validate_namespace(ns)?;
        let path = state_dir.join(format!("{ns}.json"));
        let map = match fs::read_to_string(&path) {
            Ok(text) => parse_object(&text, &path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Map::new(),
            Err(source) => return Err(StateError::Io { path, source }),
        };
        Ok(StateStore {
            dir: state_dir.to_path_buf(),
            ns: ns.to_string(),
            path,
            map,
        })
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The namespace file (which may not exist yet).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        self.map.get(key).cloned()
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// All keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.map.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Stores `value` under `key` and persists. On a write error the store is unchanged.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), StateError> {
        let previous = self.map.insert(key.to_string(), value);
        self.persist_or_restore(key, previous)
    }

    /// Removes `key`; `Ok(false)` (and no write) if it was absent.
    pub fn delete(&mut self, key: &str) -> Result<bool, StateError> {
        match self.map.remove(key) {
            None => Ok(false),
            Some(previous) => {
                self.persist_or_restore(key, Some(previous))?;
                Ok(true)
            }
        }
    }

    /// Sets `key` only if absent; `Ok(true)` if it was set.
    pub fn set_nx(&mut self, key: &str, value: Value) -> Result<bool, StateError> {
        if self.map.contains_key(key) {
            return Ok(false);
        }
        self.set(key, value)?;
        Ok(true)
    }

    /// Adds `delta` to the number under `key` (starting from `default` when absent),
    /// persists, and returns the new value.
    ///
    /// Integer-ness is kept: when the current value is a JSON integer (or the key is
    /// absent and `default` is integral) and `delta` is integral, the result is an
    /// integer (`1` + `1` is `2`, not `2.0`), computed exactly in `i64`; it falls back
    /// to floating point on overflow. A non-number value is [`StateError::NotANumber`].
    pub fn incr(&mut self, key: &str, delta: f64, default: f64) -> Result<Number, StateError> {
        let current = match self.map.get(key) {
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
        let result = match integer_sum {
            Some(n) => n,
            None => {
                let base = current.as_f64().ok_or_else(|| StateError::NotANumber {
                    key: key.to_string(),
                })?;
                Number::from_f64(base + delta).ok_or_else(|| StateError::NotFinite {
                    key: key.to_string(),
                })?
            }
        };
        self.set(key, Value::Number(result.clone()))?;
        Ok(result)
    }

    /// Writes the map; if that fails, puts `key` back to `previous` so memory matches disk.
    fn persist_or_restore(&mut self, key: &str, previous: Option<Value>) -> Result<(), StateError> {
        let outcome = self.persist();
        if outcome.is_err() {
            match previous {
                Some(value) => {
                    self.map.insert(key.to_string(), value);
                }
                None => {
                    self.map.remove(key);
                }
            }
        }
        outcome
    }

    /// Atomic rewrite: temp file in the same directory (so rename cannot cross
    /// filesystems), fsync it, rename over the namespace file, then fsync the directory
    /// so the rename itself survives a crash.
    fn persist(&self) -> Result<(), StateError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let bytes = serde_json::to_vec_pretty(&self.map)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            .map_err(io_err(&self.path))?;

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
mod tests {
    use super::*;
    use serde_json::json;

    fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn missing_file_is_empty_and_dir_created_on_write() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("nested").join("state");
        let mut store = StateStore::open(&dir, "default").expect("open");
        assert!(store.keys().is_empty());
        assert_eq!(store.get("x"), None);
        assert!(!dir.exists(), "open must not create anything");
        store.set("x", json!(1)).expect("set");
        assert_eq!(dir_entries(&dir), vec!["default.json"]);
        assert_eq!(store.path(), dir.join("default.json"));
    }

    #[test]
    fn values_persist_across_reopen() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(tmp.path(), "ns1").expect("open");
        store
            .set("b", json!({"nested": [1, "two", null]}))
            .expect("set");
        store.set("a", json!("text ✓")).expect("set");
        store.set("gone", json!(true)).expect("set");
        assert!(store.delete("gone").expect("delete"));
        assert!(!store.delete("gone").expect("delete absent"));

        let reopened = StateStore::open(tmp.path(), "ns1").expect("reopen");
        assert_eq!(reopened.keys(), vec!["a", "b"]);
        assert_eq!(reopened.get("a"), Some(json!("text ✓")));
        assert_eq!(reopened.get("b"), Some(json!({"nested": [1, "two", null]})));
        assert!(reopened.has("a"));
        assert!(!reopened.has("gone"));
    }

    #[test]
    fn writes_leave_no_temp_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(tmp.path(), "atomic").expect("open");
        for i in 0..20 {
            store.set(&format!("k{i}"), json!(i)).expect("set");
        }
        store.incr("counter", 1.0, 0.0).expect("incr");
        store.delete("k0").expect("delete");
        assert_eq!(dir_entries(tmp.path()), vec!["atomic.json"]);
        let on_disk: Value =
            serde_json::from_str(&fs::read_to_string(store.path()).expect("read")).expect("json");
        assert_eq!(on_disk["k19"], json!(19));
        assert_eq!(on_disk["counter"], json!(1));
        assert!(on_disk.get("k0").is_none());
    }

    #[test]
    fn corrupt_file_is_reported_and_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("broken.json");
        let original = "{\n  \"a\": 1,\n  \"b\": oops\n}\n";
        fs::write(&path, original).expect("write");
        match StateStore::open(tmp.path(), "broken") {
            Err(StateError::Corrupt {
                path: p,
                line,
                column,
                ..
            }) => {
                assert_eq!(p, path);
                assert_eq!(line, 3);
                assert!(column > 0);
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let message = StateStore::open(tmp.path(), "broken")
            .expect_err("corrupt")
            .to_string();
        assert!(message.contains("broken.json"), "{message}");
        assert!(message.contains("line 3"), "{message}");
        assert_eq!(fs::read_to_string(&path).expect("read"), original);
    }

    #[test]
    fn non_object_file_is_corrupt() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("arr.json"), "[1, 2]").expect("write");
        let err = StateStore::open(tmp.path(), "arr").expect_err("not an object");
        assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("an array"), "{err}");
    }

    #[test]
    fn namespaces_are_separate() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut one = StateStore::open(tmp.path(), "one").expect("open");
        let mut two = StateStore::open(tmp.path(), "two").expect("open");
        one.set("k", json!("from one")).expect("set");
        two.set("k", json!("from two")).expect("set");
        assert_eq!(
            StateStore::open(tmp.path(), "one").expect("open").get("k"),
            Some(json!("from one"))
        );
        assert_eq!(
            StateStore::open(tmp.path(), "two").expect("open").get("k"),
            Some(json!("from two"))
        );
        assert_eq!(dir_entries(tmp.path()), vec!["one.json", "two.json"]);
    }

    #[test]
    fn namespace_validation() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for bad in [
            "", "..", "a/b", "a\\b", "../x", "a..b", ".hidden", "sp ace", "ünï", "a:b",
        ] {
            assert!(
                matches!(
                    StateStore::open(tmp.path(), bad),
                    Err(StateError::InvalidNamespace(_))
                ),
                "{bad:?} should be rejected"
            );
        }
        let too_long = "x".repeat(MAX_NAMESPACE_LEN + 1);
        assert!(StateStore::open(tmp.path(), &too_long).is_err());
        for good in [
            "default",
            "my-pkg_v1.2",
            "A",
            "x".repeat(MAX_NAMESPACE_LEN).as_str(),
        ] {
            assert!(StateStore::open(tmp.path(), good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn set_nx_only_sets_absent_keys() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(tmp.path(), "nx").expect("open");
        assert!(store.set_nx("k", json!(1)).expect("set_nx"));
        assert!(!store.set_nx("k", json!(2)).expect("set_nx"));
        assert_eq!(store.get("k"), Some(json!(1)));
        // An explicit null is present, so set_nx does not replace it.
        store.set("n", Value::Null).expect("set");
        assert!(!store.set_nx("n", json!(3)).expect("set_nx"));
    }

    #[test]
    fn incr_keeps_integers_integral() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(tmp.path(), "incr").expect("open");
        assert_eq!(store.incr("c", 1.0, 0.0).expect("incr"), Number::from(1));
        assert_eq!(store.incr("c", 1.0, 0.0).expect("incr"), Number::from(2));
        assert_eq!(store.incr("c", -5.0, 0.0).expect("incr"), Number::from(-3));
        assert_eq!(store.get("c"), Some(json!(-3)));
        assert!(store.get("c").expect("c").is_i64());
        // Default applies only when absent.
        assert_eq!(store.incr("d", 1.0, 10.0).expect("incr"), Number::from(11));
        let on_disk = fs::read_to_string(store.path()).expect("read");
        assert!(on_disk.contains("\"c\": -3"), "{on_disk}");
        assert!(!on_disk.contains("-3.0"), "{on_disk}");
    }

    #[test]
    fn incr_with_floats() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(tmp.path(), "f").expect("open");
        assert_eq!(store.incr("x", 0.5, 0.0).expect("incr").as_f64(), Some(0.5));
        assert_eq!(store.incr("x", 1.0, 0.0).expect("incr").as_f64(), Some(1.5));
        store.set("y", json!(2.0)).expect("set");
        let y = store.incr("y", 1.0, 0.0).expect("incr");
        assert!(y.is_f64(), "a float value stays a float");
        assert_eq!(y.as_f64(), Some(3.0));
        assert_eq!(
            store.incr("z", 1.0, 0.25).expect("incr").as_f64(),
            Some(1.25)
        );
    }

    #[test]
    fn incr_edge_cases() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(tmp.path(), "e").expect("open");
        store.set("s", json!("text")).expect("set");
        assert!(matches!(
            store.incr("s", 1.0, 0.0),
            Err(StateError::NotANumber { ref key }) if key == "s"
        ));
        assert_eq!(store.get("s"), Some(json!("text")));
        assert!(matches!(
            store.incr("inf", f64::INFINITY, 0.0),
            Err(StateError::NotFinite { .. })
        ));
        assert!(!store.has("inf"));
        // Exact beyond 2^53, and float fallback on i64 overflow.
        store.set("big", json!(i64::MAX - 1)).expect("set");
        assert_eq!(
            store.incr("big", 1.0, 0.0).expect("incr"),
            Number::from(i64::MAX)
        );
        let overflowed = store.incr("big", 1.0, 0.0).expect("incr");
        assert!(overflowed.is_f64());
    }

    #[test]
    fn failed_write_leaves_memory_unchanged() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let blocker = tmp.path().join("not-a-dir");
        let mut store = StateStore::open(&blocker, "ns").expect("open");
        // The state "directory" becomes a regular file, so every write fails.
        fs::write(&blocker, "x").expect("write");
        let err = store.set("k", json!(1)).expect_err("write must fail");
        assert!(matches!(err, StateError::Io { .. }), "{err:?}");
        assert!(!store.has("k"));
        assert_eq!(fs::read_to_string(&blocker).expect("read"), "x");
    }
}
