//! The fixture runner: every `tests/fixtures/*.lua` starts with a machine-checked
//! `-- expect:` line, and this test runs each fixture through the real binary
//! (`alc-workbench run`) and checks it. Answers come from `NAME.answers.jsonl` when
//! there is one, else "typed answer" is typed on stdin.
//!
//! The expectation forms:
//! - `completed JSON`: exit 0 and stdout matches JSON, where a string with `...`
//!   matches any text in its place (`"...unavailable..."` = contains);
//! - `failed at line N: TEXT`: exit 1 and stderr names `:N:` and contains TEXT;
//! - `cancelled after the log "TEXT"`: once TEXT is logged, an interrupt cancels the
//!   strategy (exit 1, stderr says so);
//! - `stuck after the log "TEXT"`: once TEXT is logged, an interrupt does not stop the
//!   strategy (it is inside a C call the cancel cannot reach: stderr says it is stuck,
//!   the process keeps running), and a second interrupt ends the process with exit 130.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin(file: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alc-workbench"));
    c.current_dir(root());
    c.env(
        "ALC_HOME",
        std::env::temp_dir().join("alc-workbench-fixtures-home"),
    );
    c.env_remove("ALC_PACKAGES_PATH");
    c.args(["run", "--compact"]).arg(file);
    let answers = file.with_extension("answers.jsonl");
    if answers.is_file() {
        c.arg("--answers").arg(answers);
    }
    c
}

/// Does `text` match `pattern`, where each `...` stands for any text?
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Does `actual` match the expected JSON (objects compare the expected keys only)?
fn matches(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    match (expected, actual) {
        (Value::String(p), Value::String(t)) if p.contains("...") => {
            if !glob(p, t) {
                problems.push(format!("{at}: {t:?} does not match {p:?}"));
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(av) => matches(v, av, &format!("{at}.{k}"), problems),
                    None => problems.push(format!("{at}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{at}[{i}]"), problems);
            }
        }
        _ if expected == actual => {}
        _ => problems.push(format!("{at}: expected {expected}, got {actual}")),
    }
}

fn check_completed(file: &Path, json: &str) -> Result<(), String> {
    let expected: Value =
        serde_json::from_str(json).map_err(|e| format!("bad expect JSON ({e}): {json}"))?;
    let mut child = bin(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // Ignored when the answers file answers; read when nothing else does.
        let _ = stdin.write_all(b"typed answer\n.\n");
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(0) {
        return Err(format!("exit {:?}, stderr: {stderr}", out.status.code()));
    }
    let actual: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("stdout is not JSON ({e}); stderr: {stderr}"))?;
    let mut problems = Vec::new();
    matches(&expected, &actual, "result", &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\nresult: {actual}", problems.join("\n")))
    }
}

fn check_failed(file: &Path, line: &str, text: &str) -> Result<(), String> {
    let out = bin(file)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = file.file_name().unwrap().to_string_lossy();
    let at = format!("{name}:{line}:");
    if out.status.code() != Some(1) || !stderr.contains(&at) || !stderr.contains(text) {
        return Err(format!(
            "expected exit 1 and {at} … {text:?}; got exit {:?}, stderr: {stderr}",
            out.status.code()
        ));
    }
    Ok(())
}

fn check_cancelled(file: &Path, log: &str) -> Result<(), String> {
    let mut child = bin(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    // A watchdog, so a cancel that never lands fails the test instead of hanging it.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.map_err(|e| e.to_string())?;
        let logged = line.contains(log);
        seen.push(line);
        if logged {
            break;
        }
    }
    if !seen.iter().any(|l| l.contains(log)) {
        return Err(format!("never logged {log:?}: {seen:?}"));
    }
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().map_err(|e| e.to_string())?;
    let all = seen.join("\n");
    if status.code() != Some(1) || !all.contains("cancel") {
        return Err(format!(
            "expected a cancel (exit 1); got {:?}, stderr: {all}",
            status.code()
        ));
    }
    Ok(())
}

fn check_stuck(file: &Path, log: &str) -> Result<(), String> {
    let mut child = bin(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    // A watchdog, so an interrupt that never lands fails the test instead of hanging it.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let interrupt = || {
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut wait_for = |text: &str, seen: &mut Vec<String>| -> Result<(), String> {
        for line in lines.by_ref() {
            let line = line.map_err(|e| e.to_string())?;
            let found = line.contains(text);
            seen.push(line);
            if found {
                return Ok(());
            }
        }
        Err(format!("never printed {text:?}: {seen:?}"))
    };
    wait_for(log, &mut seen)?;
    interrupt()?;
    wait_for("stuck in a C call", &mut seen)?;
    if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
        return Err(format!(
            "the first interrupt ended the process ({status:?}); stderr: {seen:?}"
        ));
    }
    interrupt()?;
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.code() != Some(130) {
        return Err(format!(
            "expected exit 130 after the second interrupt; got {:?}, stderr: {seen:?}",
            status.code()
        ));
    }
    Ok(())
}

/// Runs one fixture against its `-- expect:` line.
fn check(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let first = text.lines().next().unwrap_or_default();
    let Some(expect) = first.strip_prefix("-- expect: ") else {
        return Err("the first line is not `-- expect: …`".into());
    };
    if let Some(json) = expect.strip_prefix("completed ") {
        // Prose may follow the JSON after " — ".
        return check_completed(file, json.split(" — ").next().unwrap_or(json));
    }
    if let Some(rest) = expect.strip_prefix("failed at line ") {
        let (line, text) = rest
            .split_once(": ")
            .ok_or("expected `failed at line N: TEXT`")?;
        return check_failed(file, line, text);
    }
    if let Some(rest) = expect.strip_prefix("cancelled after the log \"") {
        let log = rest.split('"').next().unwrap_or_default();
        return check_cancelled(file, log);
    }
    if let Some(rest) = expect.strip_prefix("stuck after the log \"") {
        let log = rest.split('"').next().unwrap_or_default();
        return check_stuck(file, log);
    }
    Err(format!("unknown expectation: {expect}"))
}

#[test]
fn every_fixture_meets_its_expect_line() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 10, "{fixtures:?}");
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|f| {
            check(f)
                .err()
                .map(|e| format!("{}: {e}", f.strip_prefix(root()).unwrap().display()))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn glob_and_json_patterns() {
    assert!(glob("...b...", "abc"));
    assert!(glob("a...", "abc") && glob("...c", "abc") && glob("abc", "abc"));
    assert!(!glob("...x...", "abc") && !glob("b...", "abc") && !glob("ab", "abc"));
    let mut problems = Vec::new();
    let expected = serde_json::json!({"a": "1...", "b": [true]});
    matches(
        &expected,
        &serde_json::json!({"a": "123", "b": [true], "c": 0}),
        "r",
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:?}");
    matches(
        &expected,
        &serde_json::json!({"a": "x", "b": [false]}),
        "r",
        &mut problems,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}
