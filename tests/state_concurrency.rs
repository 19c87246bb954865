//! `alc.state` under real concurrency: several `alc-workbench run` processes on one
//! `ALC_HOME`, and fork children (threads of one process) on one namespace file. Every
//! read-modify-write is locked, so no increment or update is lost.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{json, Value};

/// `run SCRIPT` with `home` as ALC_HOME, started but not waited for.
fn spawn_run(home: &Path, script: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ALC_HOME", home)
        .env_remove("ALC_PACKAGES_PATH")
        .args(["run", "--quiet", "--compact"])
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

fn finished(child: Child) -> Output {
    let out = child.wait_with_output().expect("binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The namespace file as JSON.
fn state_file(home: &Path, ns: &str) -> Value {
    let path = home.join("state").join(format!("{ns}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("state file")).expect("JSON")
}

fn write(path: &Path, code: &str) {
    std::fs::write(path, code).expect("write strategy");
}

#[test]
fn ten_processes_times_fifty_incr_is_exactly_five_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let script = dir.path().join("incr.lua");
    write(
        &script,
        "for _ = 1, 50 do alc.state.incr('hits') end\nreturn alc.state.get('hits')",
    );
    let children: Vec<Child> = (0..10).map(|_| spawn_run(&home, &script)).collect();
    for child in children {
        finished(child);
    }
    assert_eq!(state_file(&home, "default")["hits"], json!(500));
    // Nothing but the namespace file and its lock file is left behind.
    let mut left: Vec<String> = std::fs::read_dir(home.join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["default.json", "default.json.lock"]);
}

#[test]
fn update_under_contention_loses_nothing() {
    // Each process appends its id 40 times through update: a lost update would drop
    // an entry, a repeated one would duplicate it.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let procs = 5;
    let children: Vec<Child> = (0..procs)
        .map(|id| {
            let script = dir.path().join(format!("update{id}.lua"));
            write(
                &script,
                &format!(
                    "for _ = 1, 40 do\n  alc.state.update('log', function(t) t[#t + 1] = {id}; return t end, {{}})\n  alc.state.update('n', function(n) return n + 1 end, 0)\nend\nreturn true"
                ),
            );
            spawn_run(&home, &script)
        })
        .collect();
    for child in children {
        finished(child);
    }
    let state = state_file(&home, "default");
    assert_eq!(state["n"], json!(procs * 40));
    let log = state["log"].as_array().expect("an array");
    assert_eq!(log.len(), procs * 40);
    for id in 0..procs {
        let count = log.iter().filter(|v| **v == json!(id)).count();
        assert_eq!(count, 40, "entries of process {id}");
    }
}

#[test]
fn two_fork_children_times_fifty_is_exactly_one_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let child = "return {run = function(ctx)\n  for _ = 1, 50 do\n    alc.state.incr('n')\n    alc.state.update('u', function(u) return u + 1 end, 0)\n  end\n  return {done = true}\nend}";
    for name in ["left", "right"] {
        write(&dir.path().join(format!("{name}.lua")), child);
    }
    let main = dir.path().join("main.lua");
    write(
        &main,
        "local r = alc.fork({'left', 'right'}, {})\nreturn {ok = r[1].ok and r[2].ok, n = alc.state.get('n'), u = alc.state.get('u')}",
    );
    let out = finished(spawn_run(&home, &main));
    let result: Value = serde_json::from_slice(&out.stdout).expect("result JSON");
    assert_eq!(result, json!({"ok": true, "n": 100, "u": 100}));
    assert_eq!(state_file(&home, "default")["n"], json!(100));
}

#[test]
fn corrupt_state_file_fails_the_run_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("state")).unwrap();
    let file = home.join("state").join("default.json");
    std::fs::write(&file, "{\"hits\": 3,,}").unwrap();
    let script = dir.path().join("incr.lua");
    write(&script, "return alc.state.incr('hits')");
    let out = spawn_run(&home, &script).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("state file {} is corrupt", file.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"hits\": 3,,}");
}
