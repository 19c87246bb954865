//! Unit tests of the state store within one process (several stores on one file, and
//! threads); the multi-process guarantees are tested with the real binary in
//! tests/state_concurrency.rs.

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
    let store = StateStore::open(&dir, "default").expect("open");
    assert!(store.keys().expect("keys").is_empty());
    assert_eq!(store.get("x").expect("get"), None);
    assert!(!store.has("x").expect("has"));
    assert!(!dir.exists(), "open and reads must not create anything");
    store.set("x", json!(1)).expect("set");
    assert_eq!(dir_entries(&dir), vec!["default.json", "default.json.lock"]);
    assert_eq!(store.path(), dir.join("default.json"));
    assert_eq!(store.lock_path(), dir.join("default.json.lock"));
}

#[test]
fn values_persist_across_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StateStore::open(tmp.path(), "ns1").expect("open");
    store
        .set("b", json!({"nested": [1, "two", null]}))
        .expect("set");
    store.set("a", json!("text ✓")).expect("set");
    store.set("gone", json!(true)).expect("set");
    assert!(store.delete("gone").expect("delete"));
    assert!(!store.delete("gone").expect("delete absent"));

    let reopened = StateStore::open(tmp.path(), "ns1").expect("reopen");
    assert_eq!(reopened.keys().expect("keys"), vec!["a", "b"]);
    assert_eq!(reopened.get("a").expect("get"), Some(json!("text ✓")));
    assert_eq!(
        reopened.get("b").expect("get"),
        Some(json!({"nested": [1, "two", null]}))
    );
    assert!(reopened.has("a").expect("has"));
    assert!(!reopened.has("gone").expect("has"));
}

#[test]
fn two_stores_on_one_file_see_each_others_writes() {
    // What used to be lost: each store kept its own copy and the last writer won.
    let tmp = tempfile::tempdir().expect("tempdir");
    let one = StateStore::open(tmp.path(), "shared").expect("open");
    let two = StateStore::open(tmp.path(), "shared").expect("open");
    one.set("a", json!(1)).expect("set");
    two.set("b", json!(2)).expect("set");
    assert_eq!(one.keys().expect("keys"), vec!["a", "b"]);
    assert_eq!(one.incr("n", 1.0, 0.0).expect("incr"), Number::from(1));
    assert_eq!(two.incr("n", 1.0, 0.0).expect("incr"), Number::from(2));
    assert_eq!(one.get("n").expect("get"), Some(json!(2)));
}

#[test]
fn threads_with_their_own_stores_lose_no_increment() {
    // Fork children are threads of one process; flock excludes them from each other.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let store = StateStore::open(&dir, "threads").expect("open");
                for _ in 0..25 {
                    store.incr("n", 1.0, 0.0).expect("incr");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let store = StateStore::open(&dir, "threads").expect("open");
    assert_eq!(store.get("n").expect("get"), Some(json!(100)));
}

#[test]
fn compare_and_swap_only_replaces_what_was_seen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StateStore::open(tmp.path(), "cas").expect("open");
    assert_eq!(store.get_versioned("k").expect("read"), None);
    // Expecting absence works while the key is absent.
    assert!(store
        .compare_and_swap("k", None, Some(json!({"n": 1})))
        .expect("swap"));
    let (value, version) = store.get_versioned("k").expect("read").expect("present");
    assert_eq!(value, json!({"n": 1}));
    // Someone else changes it: the swap based on the old version is refused.
    store.set("k", json!({"n": 5})).expect("set");
    assert!(!store
        .compare_and_swap("k", Some(&version), Some(json!({"n": 2})))
        .expect("swap"));
    assert!(!store.compare_and_swap("k", None, None).expect("swap"));
    assert_eq!(store.get("k").expect("get"), Some(json!({"n": 5})));
    // With the current version it goes through, and None deletes.
    let (_, version) = store.get_versioned("k").expect("read").expect("present");
    assert!(store
        .compare_and_swap("k", Some(&version), None)
        .expect("swap"));
    assert!(!store.has("k").expect("has"));
}

#[test]
fn writes_leave_no_temp_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StateStore::open(tmp.path(), "atomic").expect("open");
    for i in 0..20 {
        store.set(&format!("k{i}"), json!(i)).expect("set");
    }
    store.incr("counter", 1.0, 0.0).expect("incr");
    store.delete("k0").expect("delete");
    assert_eq!(
        dir_entries(tmp.path()),
        vec!["atomic.json", "atomic.json.lock"]
    );
    let on_disk: Value =
        serde_json::from_str(&fs::read_to_string(store.path()).expect("read")).expect("json");
    assert_eq!(on_disk["k19"], json!(19));
    assert_eq!(on_disk["counter"], json!(1));
    assert!(on_disk.get("k0").is_none());
}

#[test]
fn corrupt_file_is_reported_by_every_operation_and_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("broken.json");
    let original = "{\n  \"a\": 1,\n  \"b\": oops\n}\n";
    fs::write(&path, original).expect("write");
    let store = StateStore::open(tmp.path(), "broken").expect("open names only");
    match store.get("a") {
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
    let failures = [
        store.set("a", json!(2)).map(|_| ()),
        store.incr("a", 1.0, 0.0).map(|_| ()),
        store.keys().map(|_| ()),
        store.delete("a").map(|_| ()),
        store.compare_and_swap("a", None, None).map(|_| ()),
    ];
    for failure in failures {
        let message = failure.expect_err("corrupt").to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 3"), "{message}");
    }
    assert_eq!(fs::read_to_string(&path).expect("read"), original);
}

#[test]
fn non_object_file_is_corrupt() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("arr.json"), "[1, 2]").expect("write");
    let store = StateStore::open(tmp.path(), "arr").expect("open");
    let err = store.get("x").expect_err("not an object");
    assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("an array"), "{err}");
}

#[test]
fn namespaces_are_separate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let one = StateStore::open(tmp.path(), "one").expect("open");
    let two = StateStore::open(tmp.path(), "two").expect("open");
    one.set("k", json!("from one")).expect("set");
    two.set("k", json!("from two")).expect("set");
    assert_eq!(one.get("k").expect("get"), Some(json!("from one")));
    assert_eq!(two.get("k").expect("get"), Some(json!("from two")));
    assert_eq!(
        dir_entries(tmp.path()),
        vec!["one.json", "one.json.lock", "two.json", "two.json.lock"]
    );
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
    let store = StateStore::open(tmp.path(), "nx").expect("open");
    assert!(store.set_nx("k", json!(1)).expect("set_nx"));
    assert!(!store.set_nx("k", json!(2)).expect("set_nx"));
    assert_eq!(store.get("k").expect("get"), Some(json!(1)));
    // An explicit null is present, so set_nx does not replace it.
    store.set("n", Value::Null).expect("set");
    assert!(!store.set_nx("n", json!(3)).expect("set_nx"));
}

#[test]
fn incr_keeps_integers_integral() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StateStore::open(tmp.path(), "incr").expect("open");
    assert_eq!(store.incr("c", 1.0, 0.0).expect("incr"), Number::from(1));
    assert_eq!(store.incr("c", 1.0, 0.0).expect("incr"), Number::from(2));
    assert_eq!(store.incr("c", -5.0, 0.0).expect("incr"), Number::from(-3));
    assert_eq!(store.get("c").expect("get"), Some(json!(-3)));
    assert!(store.get("c").expect("get").expect("c").is_i64());
    // Default applies only when absent.
    assert_eq!(store.incr("d", 1.0, 10.0).expect("incr"), Number::from(11));
    let on_disk = fs::read_to_string(store.path()).expect("read");
    assert!(on_disk.contains("\"c\": -3"), "{on_disk}");
    assert!(!on_disk.contains("-3.0"), "{on_disk}");
}

#[test]
fn incr_with_floats() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = StateStore::open(tmp.path(), "f").expect("open");
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
    let store = StateStore::open(tmp.path(), "e").expect("open");
    store.set("s", json!("text")).expect("set");
    assert!(matches!(
        store.incr("s", 1.0, 0.0),
        Err(StateError::NotANumber { ref key }) if key == "s"
    ));
    assert_eq!(store.get("s").expect("get"), Some(json!("text")));
    assert!(matches!(
        store.incr("inf", f64::INFINITY, 0.0),
        Err(StateError::NotFinite { .. })
    ));
    assert!(!store.has("inf").expect("has"));
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
fn failed_write_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let blocker = tmp.path().join("not-a-dir");
    let store = StateStore::open(&blocker, "ns").expect("open");
    // The state "directory" becomes a regular file, so every write fails.
    fs::write(&blocker, "x").expect("write");
    let err = store.set("k", json!(1)).expect_err("write must fail");
    assert!(matches!(err, StateError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    assert!(!store.has("k").expect("has"));
    assert_eq!(fs::read_to_string(&blocker).expect("read"), "x");
}
