//! The runtime: owns the terminal and the loop. [`run_tui`] is the entry point the CLI
//! calls; [`EventLoop`] is the loop itself, generic over backend and input so tests
//! run it on a `TestBackend`. Reads config and theme files, talks to the terminal,
//! starts sessions through the CLI's [`Starter`], and runs the answer source. Turns
//! SIGINT, SIGQUIT, SIGHUP, SIGTERM and a terminal that goes away into a quit that
//! ends the session's transcript, restores the terminal, and exits 128 + signal.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use anyhow::Context;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::answer::AnswerSource;
use crate::app::{App, AppOptions, Mode, Msg, OnProviderError, Starter};
use crate::config::{themes_dir, Config};
use crate::theme::Theme;
pub use settings::ScreenSettings;

mod dispatch;
mod event_loop;
mod replay;
pub mod settings;
pub mod terminal;

pub use event_loop::{script_text, EventLoop, LoopEnv};

/// What the CLI tells the TUI.
#[derive(Default)]
pub struct TuiOptions {
    /// A `.lua` path or a package name; `None` opens the picker.
    pub script: Option<String>,
    /// The `ctx` table (editable in the TUI); `ctx.budget` sets the gauges' limits.
    pub ctx: serde_json::Value,
    /// What the picker offers: demo scripts and runnable packages.
    pub choices: Vec<crate::app::Choice>,
    /// `--theme NAME` (overrides config).
    pub theme: Option<String>,
    /// Config file to read instead of the default location.
    pub config: Option<PathBuf>,
    /// Where sessions write their transcript (passed in every `StartRequest`).
    pub transcript: Option<PathBuf>,
    /// Where to suggest writing a transcript whose file failed (the data directory's
    /// `transcripts/`).
    pub recovery_dir: Option<PathBuf>,
    /// Who answers queries that are not the person's: a provider (`--provider`), or an
    /// answers file or command (`--answers`, `--answer-cmd`). Routed by the mode.
    pub answer_source: Option<Arc<dyn AnswerSource>>,
    /// `--provider NAME`: the provider's name, shown in the status bar and the Pending
    /// pane. Set it when `answer_source` is a provider: its failures then follow
    /// `on_provider_error`, and the mode defaults to the config's (not auto).
    pub provider_name: Option<String>,
    /// `--mode`: the starting mode, over the config's `mode`. Without it, an answers
    /// file or command (a source that is not a provider) starts in auto, as it always did.
    pub mode: Option<Mode>,
    /// `--on-provider-error`: what a provider failure in auto mode does (default: the
    /// query goes back to the person).
    pub on_provider_error: OnProviderError,
    /// Where package sources live, for showing a package's Lua in the Source pane.
    pub package_dirs: Vec<PathBuf>,
    /// The provider's prices, shown as a cost in the Budget pane.
    pub prices: Option<crate::engine::pricing::Prices>,
    /// `--replay TRANSCRIPT [--until N]`: the first run replays it.
    pub replay: Option<crate::app::replay::ReplayStart>,
    /// `--break FILE:LINE`: breakpoints every run starts with.
    pub breakpoints: Vec<crate::engine::BreakpointSpec>,
}

/// Builds the model's options from CLI options and config, and picks the theme.
pub fn prepare(opts: &TuiOptions) -> anyhow::Result<(AppOptions, Theme)> {
    let config = Config::load(opts.config.as_deref())?;
    let screen = ScreenSettings::from_config(&config)?;
    let theme_name = opts
        .theme
        .clone()
        .or(screen.theme)
        .unwrap_or_else(|| "dark".into());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::resolve(&theme_name, no_color, themes_dir().as_deref())?;
    let is_provider = opts.answer_source.is_some() && opts.provider_name.is_some();
    let mode = match (opts.mode, &opts.answer_source) {
        (Some(mode), _) => mode,
        (None, Some(_)) if !is_provider => Mode::Auto,
        (None, _) => screen.mode,
    };
    let source_name = opts.answer_source.as_ref().map(|s| {
        opts.provider_name
            .clone()
            .unwrap_or_else(|| s.name().to_string())
    });
    let app = AppOptions {
        script: opts.script.clone(),
        ctx: opts.ctx.clone(),
        choices: opts.choices.clone(),
        mode,
        keymap: screen.keymap,
        answer_source: source_name,
        source_is_provider: is_provider,
        on_provider_error: opts.on_provider_error,
        prices: opts.prices,
        transcript: opts.transcript.clone(),
        recovery_dir: opts.recovery_dir.clone(),
        autostart: true,
        size: (0, 0),
        replay: opts.replay.clone(),
        breakpoints: opts.breakpoints.clone(),
    };
    Ok((app, theme))
}

/// How the TUI ended: the person quit, or a signal (or the terminal going away) ended
/// it; the CLI exits 128 + that signal's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuiExit {
    Quit,
    Signal(i32),
}

/// Runs the TUI on the process's terminal until the person quits. The terminal is
/// restored on every way out: return, error, panic, a signal.
pub async fn run_tui(opts: TuiOptions, starter: Starter) -> anyhow::Result<TuiExit> {
    let (app_opts, theme) = prepare(&opts)?;
    let guard = terminal::TerminalGuard::enter().context("setting up the terminal")?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .context("setting up the terminal")?;
    let (mut app, initial) = App::new(app_opts);
    let mut event_loop = EventLoop::new(LoopEnv {
        starter,
        answer_source: opts.answer_source,
        theme,
        package_dirs: opts.package_dirs,
        control: Box::new(terminal::RealTerminal),
    });
    let ended_by = Arc::new(AtomicI32::new(0));
    let end_by = end_by_signal(event_loop.sender(), ended_by.clone());
    let signals = forward_signals(end_by.clone());
    // A terminal that goes away without a SIGHUP reaching us (reads then return EOF
    // or fail forever) ends the TUI as a hangup would.
    let hangup = end_by.clone();
    terminal::watch_hangup(move || hangup(libc::SIGHUP));
    let result = event_loop
        .run(
            &mut term,
            crossterm::event::EventStream::new(),
            &mut app,
            initial,
        )
        .await;
    if let Some(task) = signals {
        task.abort();
    }
    // ratatui's Terminal, dropped with the cursor hidden, shows it or prints why not
    // with `eprintln!`, which panics when the terminal has hung up: show it here and
    // skip that drop when it cannot be shown.
    if term.show_cursor().is_err() {
        std::mem::forget(term);
    }
    drop(guard);
    // Now that the terminal is back: where the transcripts are (not eprintln!, which
    // panics when the terminal has gone away).
    for path in &app.recording.paths {
        let _ = writeln!(std::io::stderr(), "transcript: {}", path.display());
    }
    match ended_by.load(Ordering::Acquire) {
        // Drawing on a terminal that hung up fails; the signal is the news, not that.
        0 => result.map(|()| TuiExit::Quit),
        sig => Ok(TuiExit::Signal(sig)),
    }
}

/// What a signal does to the TUI: the first one seen is recorded (it sets the exit
/// code) and asks the loop to quit, which ends the session and restores the terminal.
fn end_by_signal(
    send: impl Fn(Msg) + Send + Sync + 'static,
    ended_by: Arc<AtomicI32>,
) -> Arc<dyn Fn(i32) + Send + Sync> {
    Arc::new(move |sig| {
        if ended_by
            .compare_exchange(0, sig, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            send(Msg::Terminate);
        }
    })
}

/// SIGINT, SIGQUIT, SIGHUP and SIGTERM end the TUI through the loop (in raw mode
/// ctrl-c and ctrl-\ are keys, so these come from `kill`, a closing terminal or a
/// supervisor). A second one (other than a repeated SIGHUP) means the person insists:
/// the terminal is restored and the process exits at once, without waiting for the
/// loop to end the session.
fn forward_signals(end_by: Arc<dyn Fn(i32) + Send + Sync>) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut quit = signal(SignalKind::quit()).ok()?;
    let mut hup = signal(SignalKind::hangup()).ok()?;
    let mut term = signal(SignalKind::terminate()).ok()?;
    Some(tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let sig = tokio::select! {
                _ = int.recv() => libc::SIGINT,
                _ = quit.recv() => libc::SIGQUIT,
                _ = hup.recv() => libc::SIGHUP,
                _ = term.recv() => libc::SIGTERM,
            };
            seen += 1;
            if seen == 1 {
                end_by(sig);
            } else if sig != libc::SIGHUP {
                // (A closing terminal can deliver SIGHUP twice: from the kernel and
                // from the shell. That is one request, not an insistence.)
                let _ = terminal::leave();
                std::process::exit(128 + sig);
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::FakeProvider;

    /// `prepare` with a config file saying `mode = "review"`.
    fn prepared(opts: TuiOptions) -> AppOptions {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "mode = \"review\"\n").unwrap();
        let opts = TuiOptions {
            config: Some(config),
            theme: Some("dark".into()),
            ..opts
        };
        prepare(&opts).unwrap().0
    }

    fn fake() -> Option<Arc<dyn AnswerSource>> {
        Some(FakeProvider::answering("answers file", |_| {
            Ok(vec!["x".into()])
        }))
    }

    #[test]
    fn the_starting_mode_follows_flags_then_source_then_config() {
        // An answers file or command without --mode answers at once, as it always did.
        let app = prepared(TuiOptions {
            answer_source: fake(),
            ..Default::default()
        });
        assert_eq!(app.mode, Mode::Auto);
        assert_eq!(app.answer_source.as_deref(), Some("answers file"));
        assert!(!app.source_is_provider);
        // A provider starts in the config's mode, named by --provider.
        let app = prepared(TuiOptions {
            answer_source: fake(),
            provider_name: Some("local".into()),
            on_provider_error: OnProviderError::Fail,
            ..Default::default()
        });
        assert_eq!(app.mode, Mode::Review);
        assert_eq!(app.answer_source.as_deref(), Some("local"));
        assert!(app.source_is_provider);
        assert_eq!(app.on_provider_error, OnProviderError::Fail);
        // --mode wins.
        let app = prepared(TuiOptions {
            answer_source: fake(),
            provider_name: Some("local".into()),
            mode: Some(Mode::Manual),
            ..Default::default()
        });
        assert_eq!(app.mode, Mode::Manual);
        // No source at all: the config's mode (the app falls back to manual itself).
        let app = prepared(TuiOptions::default());
        assert_eq!((app.mode, app.answer_source), (Mode::Review, None));
    }
}
