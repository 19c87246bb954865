//! The real terminal's lifecycle: raw mode, alternate screen, mouse capture and
//! bracketed paste on entry; all of it undone on every way out (drop guard, chained
//! panic hook, suspend with ctrl-z). Touches stdout and the tty modes only.
//!
//! Nothing here asks the terminal anything (no cursor-position or keyboard-enhancement
//! queries): those hang for seconds on terminals and ptys that do not answer.

use std::io::{self, Write};
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
