//! Real-terminal test: runs the TUI binary in a pseudo-terminal, parses its output with
//! vt100, sends keys, and waits for text on the parsed screen (each wait has a deadline
//! and wakes on new output, no fixed sleeps). Checks start-up without terminal queries,
//! the help overlay, quitting, and that the terminal is given back (alternate screen
//! left, raw mode off, mouse and bracketed paste disabled).
//!
//! Runs the real `alc-workbench` binary on `tests/fixtures/echo.lua` (one question);
//! `ALC_TUI_BIN` / `ALC_TUI_ARGS` (space-separated) point it at another binary.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const ROWS: u16 = 30;
const COLS: u16 = 100;

/// The parsed screen, updated by a reader thread; waiters sleep on the condvar.
struct Screen {
    parser: Mutex<(vt100::Parser, bool)>,
    changed: Condvar,
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
    keys: Box<dyn Write + Send>,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Running {
    fn send(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).unwrap();
        self.keys.flush().unwrap();
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
        if let Some(fd) = self.master.as_raw_fd() {
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

    /// Resizes the terminal (the TUI gets SIGWINCH) and the parsed screen with it.
    fn resize(&self, rows: u16, cols: u16) {
        self.screen.parser.lock().unwrap().0.set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
    }

    /// Waits for the process to exit (answering a quit question), then checks it
    /// succeeded and gave the terminal back.
    fn wait_exit_restored(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the TUI did not exit:\n{}",
                self.screen.text()
            );
            self.screen.wait_change(Duration::from_millis(100));
        };
        assert!(status.success(), "exit status {status:?}");
        self.assert_restored();
    }

    fn signal(&self, sig: i32) {
        let pid = self.child.process_id().expect("child pid") as i32;
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Spawns the TUI binary (`ALC_TUI_BIN`, default the crate's own) in a fresh pty.
fn spawn() -> Option<Running> {
    spawn_sized(ROWS, COLS)
}

/// Like `spawn`, on a `rows` x `cols` terminal.
fn spawn_sized(rows: u16, cols: u16) -> Option<Running> {
    let (bin, args) = match std::env::var("ALC_TUI_BIN") {
        Ok(bin) => (bin, std::env::var("ALC_TUI_ARGS").unwrap_or_default()),
        Err(_) => (
            env!("CARGO_BIN_EXE_alc-workbench").to_string(),
            "tests/fixtures/echo.lua".to_string(),
        ),
    };
    spawn_with(&bin, &args, rows, cols)
}

/// Spawns `bin` with whitespace-separated `args` on a `rows` x `cols` terminal.
fn spawn_with(bin: &str, args: &str, rows: u16, cols: u16) -> Option<Running> {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(bin);
    for arg in args.split_whitespace() {
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
        parser: Mutex::new((vt100::Parser::new(rows, cols, 0), false)),
        changed: Condvar::new(),
    });
    let mut reader = pty.master.try_clone_reader().unwrap();
    let feed = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = reader.read(&mut buf).unwrap_or(0);
            let mut guard = feed.parser.lock().unwrap();
            if n == 0 {
                guard.1 = true; // closed
                feed.changed.notify_all();
                return;
            }
            guard.0.process(&buf[..n]);
            feed.changed.notify_all();
        }
    });
    let keys = pty.master.take_writer().unwrap();
    Some(Running {
        child,
        screen,
        keys,
        master: pty.master,
    })
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
    let deadline = Instant::now() + Duration::from_secs(10);
    while tui.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "SIGTERM did not end the TUI");
        screen.wait_change(Duration::from_millis(100));
    }
    tui.assert_restored();
}

#[test]
fn keys_on_the_too_small_notice_act_on_it_and_never_type_into_the_editor() {
    if std::env::var("ALC_TUI_BIN").is_ok() {
        return; // needs the default script's question
    }
    let Some(mut tui) = spawn_sized(10, 40) else {
        return;
    };
    let screen = tui.screen.clone();
    screen.wait_text("terminal too small");
    // Keys, an unbracketed line break and a bracketed paste: all hidden from the editor.
    tui.send(b"xyzzy\r");
    tui.send(b"\x1b[200~plugh\x1b[201~");
    tui.send(b"\x13"); // ctrl-s would send the (empty) answer
                       // Input is read in order: once q's question shows, the keys before it were handled.
    tui.send(b"q");
    screen.wait_text("Quit anyway?");
    tui.send(b"n");
    screen.wait_text("q quits");
    tui.resize(ROWS, COLS);
    screen.wait_text("waiting for you");
    screen.wait_text("type the answer");
    let text = screen.text();
    assert!(
        !text.contains("xyzzy") && !text.contains("plugh"),
        "typed into the hidden editor:\n{text}"
    );
    // q on the notice asks, as it does on the full screen; y quits.
    tui.resize(10, 40);
    screen.wait_text("terminal too small");
    tui.send(b"q");
    screen.wait_text("Quit anyway?");
    tui.send(b"y");
    tui.wait_exit_restored();
}

#[test]
fn pasted_line_breaks_arrive_whatever_the_terminal_sends() {
    if std::env::var("ALC_TUI_BIN").is_ok() {
        return;
    }
    let Some(mut tui) = spawn() else {
        return;
    };
    let screen = tui.screen.clone();
    screen.wait_text("waiting for you");
    // A bracketed paste with CR line breaks, then an unbracketed one with CRLF and LF
    // (as keys: Enter, ctrl-j).
    tui.send(b"\x1b[200~one\rtwo\x1b[201~");
    screen.wait_text("two");
    tui.send(b"\r\nthree\nfour");
    screen.wait_text("four");
    tui.send(b"\x13"); // ctrl-s
    screen.wait_text("Result · completed");
    let text = screen.text();
    assert!(
        text.contains(r#""one\ntwo\nthree\nfour""#),
        "line breaks lost or doubled:\n{text}"
    );
    tui.send(b"\x1b");
    screen.wait_for("result closed", Duration::from_secs(5), |s| {
        !s.contents().contains("Result ·")
    });
    tui.send(b"q");
    tui.wait_exit_restored();
}

#[test]
fn rerun_after_an_edit_shows_the_new_text() {
    if std::env::var("ALC_TUI_BIN").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("edited.lua");
    let original = std::fs::read_to_string("tests/fixtures/echo.lua").unwrap();
    std::fs::write(&script, &original).unwrap();
    let bin = env!("CARGO_BIN_EXE_alc-workbench");
    let Some(mut tui) = spawn_with(bin, &script.display().to_string(), ROWS, COLS) else {
        return;
    };
    let screen = tui.screen.clone();
    screen.wait_text("waiting for you");
    std::fs::write(&script, format!("-- edited: second version\n{original}")).unwrap();
    tui.send(b"\t"); // out of the editor: r is a command
    tui.send(b"r");
    screen.wait_text("Re-run anyway");
    tui.send(b"y");
    screen.wait_text("-- edited: second version");
    // The marker moved with the text: the call is one line further down now.
    screen.wait_text("▶4");
    tui.send(b"\x03");
    screen.wait_text("Quit anyway?");
    tui.send(b"y");
    tui.wait_exit_restored();
}

#[test]
fn rerun_starts_the_answers_file_from_its_top() {
    if std::env::var("ALC_TUI_BIN").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("one.answers.jsonl");
    std::fs::write(&answers, "{\"answer\": \"from the file\"}\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_alc-workbench");
    let args = format!("tests/fixtures/echo.lua --answers {}", answers.display());
    let Some(mut tui) = spawn_with(bin, &args, ROWS, COLS) else {
        return;
    };
    let screen = tui.screen.clone();
    screen.wait_text("Result · completed");
    screen.wait_text("from the file");
    tui.send(b"\x1b");
    screen.wait_for("result closed", Duration::from_secs(5), |s| {
        !s.contents().contains("Result ·")
    });
    // The second run gets the file's one answer again (not "ran out").
    tui.send(b"r");
    screen.wait_text("Result · completed");
    let text = screen.text();
    assert!(
        text.contains("from the file") && !text.contains("ran out"),
        "{text}"
    );
    tui.send(b"\x1b");
    screen.wait_for("result closed", Duration::from_secs(5), |s| {
        !s.contents().contains("Result ·")
    });
    tui.send(b"q");
    tui.wait_exit_restored();
}
