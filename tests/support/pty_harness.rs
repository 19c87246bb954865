//! The pty test harness: a TUI process in a pseudo-terminal, its output parsed with
//! vt100 by a reader thread, keys sent to it, and waits on the parsed screen (each has
//! a deadline and wakes on new output, no fixed sleeps).

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

pub const ROWS: u16 = 30;
pub const COLS: u16 = 100;

/// The parsed screen, updated by a reader thread; waiters sleep on the condvar.
pub struct Screen {
    pub parser: Mutex<(vt100::Parser, bool)>,
    pub changed: Condvar,
    /// Every byte the program wrote, in order.
    pub raw: Mutex<Vec<u8>>,
}

impl Screen {
    pub fn text(&self) -> String {
        self.parser.lock().unwrap().0.screen().contents()
    }

    /// Waits until `pred` holds for the screen, or fails after `limit` with the screen.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&vt100::Screen) -> bool) {
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
    pub fn wait_change(&self, limit: Duration) {
        let guard = self.parser.lock().unwrap();
        if !guard.1 {
            let _ = self.changed.wait_timeout(guard, limit).unwrap();
        }
    }

    pub fn wait_text(&self, text: &str) {
        self.wait_for(&format!("{text:?}"), Duration::from_secs(10), |s| {
            s.contents().contains(text)
        });
    }
}

/// A TUI process in a pty: its parsed screen and a way to type.
pub struct Running {
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    pub screen: Arc<Screen>,
    /// `None` once the terminal is closed (`close_terminal`).
    pub keys: Option<Box<dyn Write + Send>>,
    pub master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn send(&mut self, bytes: &[u8]) {
        let keys = self.keys.as_mut().expect("the terminal is open");
        keys.write_all(bytes).unwrap();
        keys.flush().unwrap();
    }

    /// Asserts the terminal was given back: main screen, no mouse or paste mode,
    /// cursor shown, and the tty out of raw mode.
    pub fn assert_restored(&self) {
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
    pub fn wait_exit(&mut self, limit: Duration) -> portable_pty::ExitStatus {
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
    pub fn assert_modes_left_last(&self) {
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
    pub fn close_terminal(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.keys = None;
        self.master = None;
    }

    /// Resizes the terminal (the TUI gets SIGWINCH) and the parsed screen with it.
    pub fn resize(&self, rows: u16, cols: u16) {
        self.screen.parser.lock().unwrap().0.set_size(rows, cols);
        self.master
            .as_ref()
            .expect("the terminal is open")
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
    pub fn wait_exit_restored(&mut self) {
        let status = self.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "exit status {status:?}");
        self.assert_restored();
    }

    pub fn signal(&self, sig: i32) {
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
pub fn spawn() -> Option<Running> {
    let (bin, args) = match std::env::var("ALC_TUI_BIN") {
        Ok(bin) => (bin, std::env::var("ALC_TUI_ARGS").unwrap_or_default()),
        Err(_) => (
            env!("CARGO_BIN_EXE_alc-workbench").to_string(),
            "tests/fixtures/echo.lua".to_string(),
        ),
    };
    let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
    Some(spawn_with(&bin, &args, ROWS, COLS))
}

/// Spawns this crate's TUI binary with `args` in a fresh pty.
pub fn spawn_own(args: &[&str]) -> Running {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    spawn_with(env!("CARGO_BIN_EXE_alc-workbench"), &args, ROWS, COLS)
}

/// Spawns `bin` with `args` on a `rows` x `cols` terminal.
pub fn spawn_with(bin: &str, args: &[String], rows: u16, cols: u16) -> Running {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
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
        parser: Mutex::new((vt100::Parser::new(rows, cols, 0), false)),
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

/// The transcript's lines as JSON.
pub fn transcript(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
