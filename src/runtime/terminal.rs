//! The real terminal's lifecycle: raw mode, alternate screen, mouse capture and
//! bracketed paste on entry; all of it undone on every way out (drop guard, chained
//! panic hook, suspend with ctrl-z), and noticing when the terminal goes away.
//! Touches stdout, the tty modes and (to watch for a hangup) the tty's fd only.
//!
//! Nothing here asks the terminal anything (no cursor-position or keyboard-enhancement
//! queries): those hang for seconds on terminals and ptys that do not answer.

use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::sync::Once;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};

/// Puts the terminal into TUI mode.
pub fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        cursor::Hide
    )
}

/// Gives the terminal back as it was; safe to call more than once.
pub fn leave() -> io::Result<()> {
    let mut out = io::stdout();
    // Undo everything even if one step fails, then report the first failure.
    let screen = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let raw = disable_raw_mode();
    let _ = out.flush();
    screen.and(raw)
}

/// Restores the terminal when dropped, so `?` and early returns cannot leave it raw.
pub struct TerminalGuard(());

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enter().inspect_err(|_| {
            let _ = leave();
        })?;
        Ok(TerminalGuard(()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = leave();
    }
}

/// Restores the terminal before the previous panic hook prints, so the message is
/// readable and the shell is usable.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = leave();
            previous(info);
        }));
    });
}

/// Calls `on_hangup` (once, from a thread of its own) when the terminal goes away:
/// its master side closed or it was hung up. Then reads from it return EOF or fail
/// forever, and crossterm's reader would spin on them rather than report it, so the
/// TUI would never see its input end. Watches stdin when it is a terminal, else
/// `/dev/tty` (what crossterm reads); does nothing when neither is there.
pub fn watch_hangup(on_hangup: impl FnOnce() + Send + 'static) {
    use std::os::fd::{AsRawFd, OwnedFd};
    let tty: OwnedFd = if io::stdin().is_terminal() {
        match io::stdin().as_fd().try_clone_to_owned() {
            Ok(fd) => fd,
            Err(_) => return,
        }
    } else {
        match std::fs::File::open("/dev/tty") {
            Ok(f) => f.into(),
            Err(_) => return,
        }
    };
    let spawned = std::thread::Builder::new()
        .name("tty-hangup".into())
        .spawn(move || {
            if wait_hangup(tty.as_raw_fd()) {
                on_hangup();
            }
        });
    // Without the watcher a SIGHUP still ends the TUI; nothing else to do.
    drop(spawned);
}

/// Blocks until `fd` reports a hangup or an error; false if polling itself fails.
/// Asks for no events, so input (which crossterm reads) does not wake it: POLLHUP
/// and POLLERR are reported regardless.
pub fn wait_hangup(fd: std::os::fd::RawFd) -> bool {
    let mut watched = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, owned by this frame, for the duration of the call.
        let n = unsafe { libc::poll(&mut watched, 1, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        if watched.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            return true;
        }
    }
}

/// What the loop may do to the terminal beyond drawing; tests use a no-op.
pub trait TerminalControl: Send {
    /// Hands the terminal back, stops the process (as ctrl-z would), and takes the
    /// terminal again once the shell resumes it.
    fn suspend(&mut self) -> io::Result<()>;
}

/// The real terminal.
pub struct RealTerminal;

impl TerminalControl for RealTerminal {
    fn suspend(&mut self) -> io::Result<()> {
        leave()?;
        // Raw mode disables the tty's own ctrl-z, so stop ourselves; `raise` returns
        // when the shell sends SIGCONT.
        // SAFETY: raise has no memory-safety preconditions.
        unsafe {
            libc::raise(libc::SIGTSTP);
        }
        enter()
    }
}

/// For tests and headless drivers: suspending does nothing.
pub struct NoTerminal;

impl TerminalControl for NoTerminal {
    fn suspend(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::wait_hangup;

    /// A fresh pty pair (master, slave), not our controlling terminal.
    fn pty_pair() -> (OwnedFd, OwnedFd) {
        // SAFETY: plain libc calls on fds this function owns; ptsname_r writes into
        // the buffer it is given, at most its length.
        unsafe {
            let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(master >= 0, "posix_openpt");
            let master = OwnedFd::from_raw_fd(master);
            assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
            assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(
                libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
                0
            );
            let slave = libc::open(
                CStr::from_ptr(name.as_ptr()).as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY,
            );
            assert!(slave >= 0, "open the slave");
            (master, OwnedFd::from_raw_fd(slave))
        }
    }

    #[test]
    fn a_terminal_whose_other_side_closes_is_reported_as_hung_up() {
        let (master, slave) = pty_pair();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(wait_hangup(slave.as_raw_fd()));
            drop(slave);
        });
        // Typing into the terminal is not a hangup (crossterm reads it, not us)...
        // SAFETY: writes from a valid buffer to a valid fd.
        let n = unsafe { libc::write(master.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!(n, 1);
        // ...closing the terminal is: the watcher wakes.
        drop(master);
        let hung_up = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the watcher wakes when the terminal closes");
        assert!(hung_up);
    }
}
