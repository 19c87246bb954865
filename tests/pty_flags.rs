//! Real-terminal tests of the flags the TUI shares with `run` (`--seed`,
//! `--answer-proc`, `--memory-mb`; a re-run starts the `--answer-proc` process afresh)
//! and of where the transcript goes: the status bar's
//! "recording to PATH" note at start and `transcript: PATH` printed once the terminal
//! is given back. Runs the real binary in a pseudo-terminal through the harness in
//! `support/pty_harness.rs`.

use std::time::Duration;

// This binary uses only part of the shared harness.
#[allow(dead_code)]
#[path = "support/pty_harness.rs"]
mod harness;
use harness::*;

/// Draws two numbers from `math.random`, then asks one question.
const SEEDED: &str = "local r = { math.random(1, 1000000), math.random(1, 1000000) }\n\
                      return { r = r, said = alc.llm('Say something.') }\n";
/// An `--answer-proc` that answers every query the same.
const PROC: &str = r#"while IFS= read -r line; do printf '{"answer":"from the proc"}\n'; done"#;

/// Closes the result view and quits; waits for a clean exit and a restored terminal.
fn close_result_and_quit(tui: &mut Running) {
    tui.screen.wait_text("Result");
    tui.send(b"\x1b");
    tui.screen
        .wait_for("result closed", Duration::from_secs(5), |s| {
            !s.contents().contains("Result ·")
        });
    tui.send(b"q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    tui.assert_restored();
}

#[test]
fn the_tui_takes_seed_and_answer_proc_as_run_does_and_prints_the_transcript_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("seeded.lua");
    std::fs::write(&script, SEEDED).unwrap();
    let t = dir.path().join("t.jsonl");
    let (script, t_arg) = (script.to_str().unwrap(), t.to_str().unwrap());
    let mut tui = spawn_own(&[
        script,
        "--seed",
        "7",
        "--answer-proc",
        PROC,
        "--transcript",
        t_arg,
    ]);
    close_result_and_quit(&mut tui);

    // After the terminal is given back, the path is printed.
    let raw = String::from_utf8_lossy(&tui.screen.raw.lock().unwrap()).into_owned();
    let left = raw.rfind("\x1b[?1049l").expect("left the alternate screen");
    let printed = raw.rfind(&format!("transcript: {t_arg}"));
    assert!(
        printed.is_some_and(|at| at > left),
        "no `transcript: PATH` after the terminal was restored:\n{raw:?}"
    );

    // The proc answered, and the seed gave what `run --seed 7` gives.
    let lines = transcript(&t);
    assert_eq!(lines[0]["seed"], 7, "{}", lines[0]);
    let end = lines.last().unwrap();
    assert_eq!(end["status"], "completed", "{end}");
    assert_eq!(end["result"]["said"], "from the proc", "{end}");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .args(["run", script, "--seed", "7", "--answer-proc", PROC])
        .args(["--compact", "--quiet"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let headless: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(end["result"], headless);
    assert_eq!(
        end["result"]["r"].as_array().map(Vec::len),
        Some(2),
        "{end}"
    );
}

#[test]
fn the_status_bar_says_where_the_transcript_goes_until_the_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let t_arg = t.to_str().unwrap();
    let mut tui = spawn_own(&["tests/fixtures/echo.lua", "--transcript", t_arg]);
    tui.screen.wait_text(&format!("recording to {t_arg}"));
    tui.send(b"x");
    tui.screen
        .wait_for("the note gone", Duration::from_secs(10), |s| {
            !s.contents().contains("recording to")
        });
    tui.send(b"\x03"); // ctrl-c quits, confirming: a query waits
    tui.screen.wait_text("Quit anyway?");
    tui.send(b"y");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    tui.assert_restored();
    let raw = String::from_utf8_lossy(&tui.screen.raw.lock().unwrap()).into_owned();
    assert!(raw.contains(&format!("transcript: {t_arg}")), "{raw:?}");
}

#[test]
fn the_tui_takes_memory_mb() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("greedy.lua");
    std::fs::write(
        &script,
        "local big = string.rep('x', 64 * 1024 * 1024)\nreturn #big\n",
    )
    .unwrap();
    let t = dir.path().join("t.jsonl");
    let mut tui = spawn_own(&[
        script.to_str().unwrap(),
        "--memory-mb",
        "16",
        "--transcript",
        t.to_str().unwrap(),
    ]);
    tui.screen.wait_text("the strategy failed");
    tui.send(b"q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    tui.assert_restored();
    let end = transcript(&t).pop().unwrap();
    assert_eq!(end["status"], "failed", "{end}");
    let message = end["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("memory limit of 16 MiB"), "{end}");
}

/// An `--answer-proc` that counts the queries it has answered.
const COUNTING_PROC: &str =
    r#"n=0; while IFS= read -r line; do n=$((n+1)); printf '{"answer":"call %d"}\n' "$n"; done"#;

#[test]
fn rerun_starts_the_answer_proc_afresh() {
    let mut tui = spawn_own(&["tests/fixtures/echo.lua", "--answer-proc", COUNTING_PROC]);
    let screen = tui.screen.clone();
    screen.wait_text("Result · completed");
    screen.wait_text("call 1");
    tui.send(b"\x1b");
    screen.wait_for("result closed", Duration::from_secs(5), |s| {
        !s.contents().contains("Result ·")
    });
    // A fresh process answers the second run: its count starts over.
    tui.send(b"r");
    screen.wait_text("Result · completed");
    let text = screen.text();
    assert!(
        text.contains("call 1") && !text.contains("call 2"),
        "{text}"
    );
    close_result_and_quit(&mut tui);
}

#[test]
fn break_stops_the_real_binary_at_the_line_and_f8_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.lua");
    std::fs::write(
        &script,
        "local n = 41\nlocal m = n + 1\nreturn { m = m, said = alc.llm('Say something.') }\n",
    )
    .unwrap();
    let t = dir.path().join("t.jsonl");
    let (script, t_arg) = (script.to_str().unwrap(), t.to_str().unwrap());
    let mut tui = spawn_own(&[
        script,
        "--break",
        "s.lua:2",
        "--answer-proc",
        PROC,
        "--transcript",
        t_arg,
    ]);
    tui.screen.wait_text("s.lua:2 (breakpoint)");
    tui.screen.wait_text("n = 41");
    tui.send(b"\x1b[19~"); // F8
    close_result_and_quit(&mut tui);
}
