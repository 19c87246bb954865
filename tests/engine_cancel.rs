//! Cancel against a strategy the cancel hook cannot reach: one blocked inside a C
//! function. Here the C call is `io.open` on a FIFO, which blocks until the test opens
//! the other end, so the test decides when it returns (a catastrophic `string.find`
//! behaves the same but would spin a core for minutes; tests/cli_cancel.rs runs that
//! one in a process of its own).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use alc_workbench::engine::session::ABANDONED;
use alc_workbench::engine::{
    EventStream, LogLevel, ScriptSpec, Session, SessionConfig, SessionEvent, Stamped, Status,
};
use serde_json::Value;

/// A named pipe at `dir/name`.
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    path
}

/// Lets a strategy blocked opening `fifo` go on: opening the write end completes its
/// `io.open`, and closing it gives the reader EOF.
fn release(fifo: &Path) {
    drop(std::fs::OpenOptions::new().write(true).open(fifo).unwrap());
}

/// Events arrive on a thread so waits can have a deadline.
fn forward(mut events: EventStream) -> mpsc::Receiver<Stamped> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some(ev) = events.blocking_recv() {
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next event, or a panic naming `what` after a generous deadline.
fn next(rx: &mpsc::Receiver<Stamped>, what: &str) -> Stamped {
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

fn wait_log(rx: &mpsc::Receiver<Stamped>, text: &str) {
    loop {
        if let SessionEvent::Log { level, msg } = next(rx, text).event {
            if level == LogLevel::Info && msg == text {
                return;
            }
        }
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn abandon_ends_a_strategy_stuck_in_a_c_call_with_one_end_line() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path(), "pipe");
    let transcript = dir.path().join("t.jsonl");
    let code = format!(
        "alc.log('info', 'opening')\nlocal f = io.open({:?})\n\
         alc.log('info', 'after the C call')\nreturn 1",
        pipe.to_str().unwrap()
    );
    let mut config = SessionConfig::new(ScriptSpec::Inline {
        name: "stuck.lua".into(),
        code,
    });
    config.alc_home = dir.path().join("home");
    config.transcript = Some(transcript.clone());
    let (session, events) = Session::start(config).unwrap();
    let rx = forward(events);
    wait_log(&rx, "opening");

    // Cancel cannot reach a VM inside a C call; abandon ends the session anyway.
    session.cancel();
    assert!(!session.is_finished());
    assert!(session.abandon(), "the first abandon writes the end");
    assert!(!session.abandon(), "and only the first");
    let end = next(&rx, "the end");
    let SessionEvent::Finished(outcome) = end.event else {
        panic!("expected the end, got {:?}", end.event);
    };
    assert_eq!(outcome.status, Status::Cancelled);
    assert_eq!(outcome.error.unwrap().message, ABANDONED);
    let written = lines(&transcript);
    let last = written.last().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["status"].as_str()),
        (Some("end"), Some("cancelled"))
    );

    // Let the C call return: the VM ends on its own later, and records nothing more.
    release(&pipe);
    drop(session);
    // The stream closes when the VM thread is gone (it holds the last sender).
    match rx.recv_timeout(Duration::from_secs(20)) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Err(e) => panic!("the VM thread did not end after its C call returned: {e}"),
        Ok(ev) => panic!("event after the end: {ev:?}"),
    }
    assert_eq!(lines(&transcript), written, "nothing written after `end`");
}

#[test]
fn cancel_does_not_wait_for_a_fork_child_stuck_in_a_c_call() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path(), "pipe");
    std::fs::write(
        dir.path().join("stuck_child.lua"),
        format!(
            "return {{ run = function(ctx)\n  alc.log('info', 'child opening')\n  \
             io.open({:?})\n  return ctx\nend }}\n",
            pipe.to_str().unwrap()
        ),
    )
    .unwrap();
    let main = dir.path().join("main.lua");
    std::fs::write(&main, "return alc.fork({'stuck_child'})\n").unwrap();
    let mut config = SessionConfig::new(ScriptSpec::File(main));
    config.alc_home = dir.path().join("home");
    let (session, events) = Session::start(config).unwrap();
    let rx = forward(events);
    wait_log(&rx, "child opening");

    session.cancel();
    // The parent stops waiting for its stuck child: the session ends by itself.
    let outcome = loop {
        if let SessionEvent::Finished(o) = next(&rx, "the end after cancel").event {
            break o;
        }
    };
    assert_eq!(outcome.status, Status::Cancelled);
    assert!(!session.abandon(), "already ended by the VM itself");
    release(&pipe);
}
