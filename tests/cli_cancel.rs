//! `run` (and `replay`) against a strategy stuck in a C call
//! (tests/fixtures/stuck_find.lua: a catastrophic `string.find`): the first ctrl-c
//! cannot stop it, the second ends the process within a second with exit 130, and
//! the transcript still ends with `end`. Every wait is on a line the process writes,
//! or on its exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any one expected line may take (a slow, shared machine).
const PATIENCE: Duration = Duration::from_secs(30);

struct Run {
    pid: libc::pid_t,
    /// Set once the process has been waited for (its pid may then be reused).
    reaped: Arc<AtomicBool>,
    stderr: mpsc::Receiver<String>,
    exited: mpsc::Receiver<ExitStatus>,
}

/// `alc-workbench run ARGS…`.
fn spawn(args: &[&str]) -> Run {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    spawn_command(&all)
}

/// `alc-workbench ARGS…` (the subcommand first).
fn spawn_command(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "ALC_HOME",
            std::env::temp_dir().join("alc-workbench-test-home"),
        )
        .env_remove("ALC_PACKAGES_PATH")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let (tx, stderr) = mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let pid = child.id() as libc::pid_t;
    let reaped = Arc::new(AtomicBool::new(false));
    let (done, exited) = mpsc::channel();
    let flag = reaped.clone();
    std::thread::spawn(move || {
        let status = child.wait();
        flag.store(true, Ordering::SeqCst);
        if let Ok(status) = status {
            let _ = done.send(status);
        }
    });
    Run {
        pid,
        reaped,
        stderr,
        exited,
    }
}

impl Run {
    /// Waits for a stderr line containing `text`; returns the lines seen before it.
    fn wait_line(&self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.stderr.recv_timeout(PATIENCE) {
                Ok(line) if line.contains(text) => return seen,
                Ok(line) => seen.push(line),
                Err(e) => panic!("waiting for {text:?} on stderr ({e}); saw {seen:?}"),
            }
        }
    }

    fn interrupt(&self) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(self.pid, libc::SIGINT);
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // A failed assertion must not leave a process spinning in string.find.
        if !self.reaped.load(Ordering::SeqCst) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
            }
        }
    }
}

#[test]
fn second_ctrl_c_ends_a_run_stuck_in_a_c_call_with_130_and_an_end_line() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.jsonl");
    let run = spawn(&[
        "tests/fixtures/stuck_find.lua",
        "--transcript",
        transcript.to_str().unwrap(),
    ]);
    second_ctrl_c_ends_it(run, &transcript);
}

#[test]
fn second_ctrl_c_ends_a_replay_stuck_in_a_c_call_with_130_and_an_end_line() {
    let dir = tempfile::tempdir().unwrap();
    // Asks once, then gets stuck only when the ctx says so: recorded without, replayed
    // (the recorded answer, then the stuck call) with.
    let script = dir.path().join("ask_then_stuck.lua");
    let stuck = std::fs::read_to_string("tests/fixtures/stuck_find.lua").unwrap();
    std::fs::write(
        &script,
        format!("local a = alc.llm('go?')\nif not ctx.stuck then return a end\n{stuck}"),
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let recorded = dir.path().join("recorded.jsonl");
    let home = std::env::temp_dir().join("alc-workbench-test-home");
    let status = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .env("ALC_HOME", &home)
        .env_remove("ALC_PACKAGES_PATH")
        .args(["run", script, "--answer-cmd", "echo yes", "--transcript"])
        .arg(&recorded)
        .arg("-q")
        .stdin(Stdio::null())
        .status()
        .expect("binary runs");
    assert_eq!(status.code(), Some(0));
    let transcript = dir.path().join("replayed.jsonl");
    let run = spawn_command(&[
        "replay",
        recorded.to_str().unwrap(),
        "--ctx",
        r#"{"stuck": true}"#,
        "--answer-cmd",
        "echo yes",
        "--transcript",
        transcript.to_str().unwrap(),
    ]);
    second_ctrl_c_ends_it(run, &transcript);
}

/// Waits for the stuck call, presses ctrl-c twice, and checks the exit and the
/// transcript's `end`.
fn second_ctrl_c_ends_it(run: Run, transcript: &std::path::Path) {
    run.wait_line("[info] entering string.find");

    run.interrupt();
    run.wait_line("interrupted: cancelling the strategy");
    // The cancel cannot take inside string.find; after the grace time `run` says so.
    run.wait_line("stuck in a C call");
    assert!(
        run.exited.try_recv().is_err(),
        "the first ctrl-c must not end the process"
    );

    run.interrupt();
    let sent = Instant::now();
    let status = run
        .exited
        .recv_timeout(PATIENCE)
        .expect("the second ctrl-c ends the process");
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(took < Duration::from_secs(1), "took {took:?} to exit");
    run.wait_line("interrupted again");

    let lines: Vec<Value> = std::fs::read_to_string(transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ends: Vec<&Value> = lines.iter().filter(|l| l["event"] == "end").collect();
    assert_eq!(ends.len(), 1, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "end");
    assert_eq!(last["status"], "cancelled");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stopped waiting for the strategy"),
        "{last}"
    );
}
