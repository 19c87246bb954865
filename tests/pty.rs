//! Real-terminal test: runs the TUI binary in a pseudo-terminal, parses its output with
//! vt100, sends keys, and waits for text on the parsed screen (each wait has a deadline
//! and wakes on new output, no fixed sleeps). Checks start-up without terminal queries,
//! the help overlay, quitting, and that the terminal is given back (alternate screen
//! left, raw mode off, mouse and bracketed paste disabled).
//!
//! Runs the real `alc-workbench` binary on `tests/fixtures/echo.lua` (one question);
//! `ALC_TUI_BIN` / `ALC_TUI_ARGS` (space-separated) point it at another binary.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const ROWS: u16 = 30;
const COLS: u16 = 100;

/// The parsed screen, updated by a reader thread; waiters sleep on the condvar.
struct Screen {
    parser: Mutex<(vt100::Parser, bool)>,
    changed: Condvar,
    /// Every byte the program wrote, in order.
    raw: Mutex<Vec<u8>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().0.screen().contents()
    }

    /// Waits until `pred` holds for the screen, or fails after `limit` with the screen.
    fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + limit;
        let mut guard = self.parser.lock().unwrap();
        loop {
            if pred(guard.0.screen()) {
                return;
            }
            let now = Instant::now();
            if now >= deadline || guard.1 {
                panic!(
                    "timed out waiting for {what}; screen:\n{}",
                    guard.0.screen().contents()
                );
            }
            guard = self.changed.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    /// Waits for new output (or the pty closing), at most `limit`.
    fn wait_change(&self, limit: Duration) {
        let guard = self.parser.lock().unwrap();
        if !guard.1 {
            let _ = self.changed.wait_timeout(guard, limit).unwrap();
        }
    }

    fn wait_text(&self, text: &str) {
        self.wait_for(&format!("{text:?}"), Duration::from_secs(10), |s| {
            s.contents().contains(text)
        });
    }
}

/// A TUI process in a pty: its parsed screen and a way to type.
struct Running {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    screen: Arc<Screen>,
    /// `None` once the terminal is closed (`close_terminal`).
    keys: Option<Box<dyn Write + Send>>,
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn send(&mut self, bytes: &[u8]) {
        let keys = self.keys.as_mut().expect("the terminal is open");
        keys.write_all(bytes).unwrap();
        keys.flush().unwrap();
    }

    /// Asserts the terminal was given back: main screen, no mouse or paste mode,
    /// cursor shown, and the tty out of raw mode.
    fn assert_restored(&self) {
        self.screen
            .wait_for("terminal restored", Duration::from_secs(5), |s| {
                !s.alternate_screen()
                    && !s.bracketed_paste()
                    && s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
                    && !s.hide_cursor()
            });
        if let Some(fd) = self.master.as_ref().and_then(|m| m.as_raw_fd()) {
            // SAFETY: tcgetattr only writes into the struct we own.
            let mut tio: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(fd, &mut tio) } == 0 {
                assert_ne!(
                    tio.c_lflag & libc::ICANON,
                    0,
                    "raw mode left on (ICANON off)"
                );
                assert_ne!(tio.c_lflag & libc::ECHO, 0, "raw mode left on (ECHO off)");
            }
        }
    }

    /// Waits (waking on output) until the process exits; fails after `limit`.
    fn wait_exit(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the TUI did not exit:\n{}",
                self.screen.text()
            );
            // Wakes on new output; the timeout only re-checks the exit.
            self.screen.wait_change(Duration::from_millis(100));
        }
    }

    /// The last bytes the program wrote leave the TUI's modes: the alternate screen
    /// is left and mouse capture disabled after they were last turned on.
    fn assert_modes_left_last(&self) {
        let raw = self.screen.raw.lock().unwrap();
        let last = |seq: &[u8]| raw.windows(seq.len()).rposition(|w| w == seq);
        let entered = last(b"\x1b[?1049h").expect("entered the alternate screen");
        let left = last(b"\x1b[?1049l").expect("left the alternate screen");
        assert!(
            left > entered,
            "the alternate screen was entered again after leaving"
        );
        let mouse_on = last(b"\x1b[?1000h").expect("mouse capture was on");
        let mouse_off = last(b"\x1b[?1000l").expect("mouse capture turned off");
        assert!(mouse_off > mouse_on, "mouse capture was left on");
    }

    /// Closes the terminal as a terminal emulator's window closing does: every
    /// master fd goes. Returns the child to wait on.
    fn close_terminal(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.keys = None;
        self.master = None;
    }

    fn signal(&self, sig: i32) {
        let pid = self.child.process_id().expect("child pid") as i32;
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test must not leave a TUI behind (one may spin in string.find).
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
    }
}

/// Spawns the TUI binary (`ALC_TUI_BIN`, default the crate's own) in a fresh pty.
fn spawn() -> Option<Running> {
    let (bin, args) = match std::env::var("ALC_TUI_BIN") {
        Ok(bin) => (bin, std::env::var("ALC_TUI_ARGS").unwrap_or_default()),
        Err(_) => (
            env!("CARGO_BIN_EXE_alc-workbench").to_string(),
            "tests/fixtures/echo.lua".to_string(),
        ),
    };
    let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
    Some(spawn_with(&bin, &args))
}

/// Spawns this crate's TUI binary with `args` in a fresh pty.
fn spawn_own(args: &[&str]) -> Running {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    spawn_with(env!("CARGO_BIN_EXE_alc-workbench"), &args)
}

fn spawn_with(bin: &str, args: &[String]) -> Running {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(bin);
    for arg in args {
        cmd.arg(arg);
    }
    cmd.env("TERM", "xterm-256color");
    // Transcripts go to a throwaway data dir, not the developer's.
    let data = std::env::temp_dir().join(format!("alc-pty-{}", std::process::id()));
    cmd.env("XDG_DATA_HOME", &data);
    cmd.env("XDG_CONFIG_HOME", &data);
    cmd.cwd(env!("CARGO_MANIFEST_DIR"));
    let child = pty.slave.spawn_command(cmd).expect("spawn the TUI");
    drop(pty.slave);

    let screen = Arc::new(Screen {
        parser: Mutex::new((vt100::Parser::new(ROWS, COLS, 0), false)),
        changed: Condvar::new(),
        raw: Mutex::new(Vec::new()),
    });
    // Our own reader on a dup of the master, polled so it can be told to stop: a
    // thread blocked in read() would keep the master open, and closing the terminal
    // (every master fd closed) is one of the things tested.
    let master_fd = pty.master.as_raw_fd().expect("a unix pty");
    // SAFETY: dup of a valid fd we hold; the new fd is owned by `reader_fd` below.
    let reader_fd = unsafe { OwnedFd::from_raw_fd(libc::dup(master_fd)) };
    let stop = Arc::new(AtomicBool::new(false));
    let feed = screen.clone();
    let stopping = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let closed = |feed: &Screen| {
            feed.parser.lock().unwrap().1 = true;
            feed.changed.notify_all();
        };
        loop {
            let mut watched = libc::pollfd {
                fd: reader_fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut watched, 1, 50) };
            if stopping.load(Ordering::SeqCst) {
                return closed(&feed);
            }
            if ready <= 0 {
                continue;
            }
            // SAFETY: reads into our own buffer, at most its length.
            let n =
                unsafe { libc::read(reader_fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return closed(&feed);
            }
            let bytes = &buf[..n as usize];
            feed.raw.lock().unwrap().extend_from_slice(bytes);
            feed.parser.lock().unwrap().0.process(bytes);
            feed.changed.notify_all();
        }
    });
    let keys = pty.master.take_writer().unwrap();
    Running {
        child,
        screen,
        keys: Some(keys),
        master: Some(pty.master),
        stop,
        reader: Some(reader),
    }
}

#[test]
fn tui_runs_in_a_real_terminal_and_restores_it() {
    let Some(mut tui) = spawn() else {
        return;
    };
    let screen = tui.screen.clone();
    // Start-up must not wait on terminal queries: the first frame comes quickly.
    let started = Instant::now();
    screen.wait_text("MANUAL");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "first frame took {:?}",
        started.elapsed()
    );
    screen.wait_for(
        "alternate screen, mouse, paste",
        Duration::from_secs(5),
        |s| {
            s.alternate_screen()
                && s.bracketed_paste()
                && s.mouse_protocol_mode() != vt100::MouseProtocolMode::None
        },
    );

    // With the default script, its first question is on screen before we go on.
    if std::env::var("ALC_TUI_BIN").is_err() {
        screen.wait_text("waiting for you");
    }
    // Close the picker if it opened (no SCRIPT), then the help overlay from the keymap.
    if screen.text().contains("Open a script") {
        tui.send(b"\x1b");
        screen.wait_for("picker closed", Duration::from_secs(5), |s| {
            !s.contents().contains("Open a script")
        });
    }
    // f1, not "?": with a query waiting, "?" is typed into the answer editor.
    tui.send(b"\x1bOP");
    screen.wait_text("show this help");
    tui.send(b"\x1b");
    screen.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contents().contains("show this help")
    });

    // With a query waiting, type an answer (keys, then a bracketed paste) and send it.
    if screen.text().contains("waiting for you") {
        tui.send(b"Rayleigh");
        screen.wait_text("Rayleigh");
        tui.send(b"\x1b[200~\nscattering\x1b[201~");
        screen.wait_text("scattering");
        tui.send(b"\x13"); // ctrl-s
                           // The trace shows the answer, unless the result overlay already covers it.
        screen.wait_for("q-1 answered", Duration::from_secs(10), |s| {
            s.contents().contains("q-1 you") || s.contents().contains("Result")
        });
        if std::env::var("ALC_TUI_BIN").is_err() {
            // The strategy finished with what was typed: the result is on screen.
            screen.wait_for("result shown", Duration::from_secs(10), |s| {
                s.contents().contains("you_said") && s.contents().contains("Rayleigh")
            });
        }
    }

    // Quit (confirming if a query is waiting), then the terminal must be restored.
    if screen.text().contains("Result") {
        tui.send(b"\x1b"); // close the result view, then q quits
        screen.wait_for("result closed", Duration::from_secs(5), |s| {
            !s.contents().contains("Result ·")
        });
        tui.send(b"q");
    } else {
        tui.send(b"\x03");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = tui.child.try_wait().unwrap() {
            break status;
        }
        if screen.text().contains("Quit anyway?") {
            tui.send(b"y");
        }
        assert!(
            Instant::now() < deadline,
            "the TUI did not exit:\n{}",
            screen.text()
        );
        // Wakes on new output or the pty closing; the timeout only re-checks the exit.
        screen.wait_change(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status:?}");
    tui.assert_restored();
}

#[test]
fn sigterm_and_suspend_give_the_terminal_back() {
    let Some(mut tui) = spawn() else {
        return;
    };
    let screen = tui.screen.clone();
    screen.wait_text("MANUAL");
    // ctrl-z gives the terminal back and stops the process; in this pty the process
    // group is orphaned, so the stop is discarded (POSIX) and the TUI takes the
    // terminal again at once. Check it comes back whole and still answers keys.
    if screen.text().contains("Open a script") {
        tui.send(b"\x1b"); // close the picker so f1 reaches the help binding
        screen.wait_for("picker closed", Duration::from_secs(5), |s| {
            !s.contents().contains("Open a script")
        });
    }
    tui.send(b"\x1a");
    tui.signal(libc::SIGCONT);
    screen.wait_for("alternate screen again", Duration::from_secs(5), |s| {
        s.alternate_screen()
    });
    tui.send(b"\x1bOP");
    screen.wait_text("show this help");
    tui.signal(libc::SIGTERM);
    let status = tui.wait_exit(Duration::from_secs(10));
    assert_eq!(status.exit_code(), 128 + libc::SIGTERM as u32, "{status:?}");
    tui.assert_restored();
}

/// The transcript's lines as JSON.
fn transcript(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The transcript ends with one `end` line, status cancelled.
fn assert_ends_cancelled(path: &Path) {
    let lines = transcript(path);
    let ends = lines.iter().filter(|l| l["event"] == "end").count();
    assert_eq!(ends, 1, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "end", "{lines:?}");
    assert_eq!(last["status"], "cancelled", "{last}");
}

#[test]
fn sigint_restores_the_terminal_ends_the_transcript_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let mut tui = spawn_own(&[
        "tests/fixtures/echo.lua",
        "--transcript",
        t.to_str().unwrap(),
    ]);
    tui.screen.wait_text("waiting for you");
    tui.signal(libc::SIGINT);
    let status = tui.wait_exit(Duration::from_secs(10));
    assert_eq!(status.exit_code(), 128 + libc::SIGINT as u32, "{status:?}");
    tui.assert_restored();
    tui.assert_modes_left_last();
    assert_ends_cancelled(&t);
}

#[test]
fn sigterm_ends_a_tui_stuck_in_a_c_call_with_143_and_an_end_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let mut tui = spawn_own(&[
        "tests/fixtures/stuck_find.lua",
        "--transcript",
        t.to_str().unwrap(),
    ]);
    tui.screen.wait_text("entering string.find");
    tui.signal(libc::SIGTERM);
    let status = tui.wait_exit(Duration::from_secs(10));
    assert_eq!(status.exit_code(), 128 + libc::SIGTERM as u32, "{status:?}");
    tui.assert_restored();
    tui.assert_modes_left_last();
    assert_ends_cancelled(&t);
}

#[test]
fn q_quits_a_tui_whose_cancel_is_stuck_in_a_c_call() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let mut tui = spawn_own(&[
        "tests/fixtures/stuck_find.lua",
        "--transcript",
        t.to_str().unwrap(),
    ]);
    tui.screen.wait_text("entering string.find");
    tui.send(b"c");
    tui.screen
        .wait_text("stuck in a C call (string.find?) — q quits");
    tui.send(b"q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    tui.assert_restored();
    tui.assert_modes_left_last();
    assert_ends_cancelled(&t);
}

#[test]
fn closing_the_terminal_ends_the_tui() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let mut tui = spawn_own(&[
        "tests/fixtures/echo.lua",
        "--transcript",
        t.to_str().unwrap(),
    ]);
    tui.screen.wait_text("waiting for you");
    tui.close_terminal();
    // The screen reader is gone, so wait on the process itself.
    let pid = tui.child.process_id().expect("child pid");
    let (done, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waits on our own child; writes only `status`.
        let reaped = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        let _ = done.send((reaped, status));
    });
    let (reaped, status) = exited
        .recv_timeout(Duration::from_secs(10))
        .expect("the TUI exits when its terminal closes (no orphan)");
    assert_eq!(reaped, pid as libc::pid_t);
    assert!(libc::WIFEXITED(status), "ended by a signal: {status:#x}");
    let code = libc::WEXITSTATUS(status);
    assert_eq!(code, 128 + libc::SIGHUP, "exit code");
    assert_ends_cancelled(&t);
}

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
