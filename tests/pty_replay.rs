//! Real-terminal tests of `alc-workbench --replay TRANSCRIPT [--until N] [SCRIPT]`: the
//! recorded answers arrive at once (the status bar says `replay complete`), `--until`
//! hands query N+1 to the person with its recorded answer as the draft, and bad input
//! exits 2 before the screen opens. Runs the real binary in a pseudo-terminal through
//! the harness in `support/pty_harness.rs`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

// This binary uses only part of the shared harness.
#[allow(dead_code)]
#[path = "support/pty_harness.rs"]
mod harness;
use harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_alc-workbench");

/// Records `demo/cot.lua` answered by its answers file into `t`.
fn record(t: &Path) {
    let out = Command::new(BIN)
        .args([
            "run",
            "demo/cot.lua",
            "--answers",
            "demo/cot.answers.jsonl",
            "-q",
        ])
        .arg("--transcript")
        .arg(t)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// (id, source) of every answer in the transcript.
fn sources(t: &Path) -> Vec<(String, String)> {
    transcript(t)
        .iter()
        .filter(|l| l["event"] == "answer")
        .map(|l| {
            (
                l["id"].as_str().unwrap_or_default().to_string(),
                l["source"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn quit_after_the_result(tui: &mut Running) {
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
fn replay_answers_every_query_from_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let (t, t2) = (dir.path().join("t.jsonl"), dir.path().join("t2.jsonl"));
    record(&t);
    let mut tui = spawn_own(&[
        "--replay",
        t.to_str().unwrap(),
        "--transcript",
        t2.to_str().unwrap(),
    ]);
    tui.screen.wait_text("replay complete");
    quit_after_the_result(&mut tui);
    let lines = transcript(&t2);
    assert_eq!(lines[0]["replay_of"]["path"], t.to_str().unwrap());
    let all: Vec<_> = sources(&t2).into_iter().map(|(_, s)| s).collect();
    assert_eq!(all, vec!["replay"; 4]);
    assert_eq!(
        lines.last().unwrap()["result"],
        transcript(&t).last().unwrap()["result"]
    );
}

#[test]
fn until_hands_the_next_query_to_you_with_its_recorded_draft() {
    let dir = tempfile::tempdir().unwrap();
    let (t, t2) = (dir.path().join("t.jsonl"), dir.path().join("t2.jsonl"));
    record(&t);
    let mut tui = spawn_own(&[
        "--replay",
        t.to_str().unwrap(),
        "--until",
        "2",
        "--transcript",
        t2.to_str().unwrap(),
    ]);
    tui.screen
        .wait_text("replay ended at q-3: --until 2 reached");
    tui.screen.wait_text("the recorded answer is the draft");
    tui.send(b"\x13"); // ctrl-s: accepted unchanged
                       // Later queries go to the current mode (manual, no source): yours.
    tui.screen.wait_text("Pending q-4");
    tui.send(b"mine\x13");
    quit_after_the_result(&mut tui);
    let ids = sources(&t2);
    assert_eq!(
        ids,
        vec![
            ("q-1".into(), "replay".into()),
            ("q-2".into(), "replay".into()),
            ("q-3".into(), "replay".into()),
            ("q-4".into(), "human".into()),
        ]
    );
}

#[test]
fn bad_replay_input_exits_2_before_the_screen_opens() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let missing = Command::new(BIN)
        .arg("--replay")
        .arg(dir.path().join("none.jsonl"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("none.jsonl"));
    record(&t);
    let beyond = Command::new(BIN)
        .arg("--replay")
        .arg(&t)
        .args(["--until", "9"])
        .output()
        .unwrap();
    assert_eq!(beyond.status.code(), Some(2), "{beyond:?}");
    let err = String::from_utf8_lossy(&beyond.stderr);
    assert!(err.contains("--until 9 is beyond the recording"), "{err}");
    std::fs::write(&t, "not json\n{}\n").unwrap();
    let bad = Command::new(BIN).arg("--replay").arg(&t).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
