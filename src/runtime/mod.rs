//! The runtime: owns the terminal and the loop. [`run_tui`] is the entry point the CLI
//! calls; [`EventLoop`] is the loop itself, generic over backend and input so tests
//! run it on a `TestBackend`. Reads config and theme files, talks to the terminal,
//! starts sessions through the CLI's [`Starter`], and runs the answer source.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::answer::AnswerSource;
use crate::app::{App, AppOptions, Msg, Starter};
use crate::config::{themes_dir, Config};
use crate::theme::Theme;

mod event_loop;
pub mod terminal;

pub use event_loop::{script_text, EventLoop, LoopEnv};

/// What the CLI tells the TUI.
#[derive(Default)]
pub struct TuiOptions {
    /// A `.lua` path or a package name; `None` opens the picker.
    pub script: Option<String>,
    /// The `ctx` table (editable in the TUI); `ctx.budget` sets the gauges' limits.
    pub ctx: serde_json::Value,
    /// What the picker offers: `demo/*.lua` paths and resolvable package names.
    pub choices: Vec<String>,
    /// `--theme NAME` (overrides config).
    pub theme: Option<String>,
    /// Config file to read instead of the default location.
    pub config: Option<PathBuf>,
    /// Where sessions write their transcript (passed in every `StartRequest`).
    pub transcript: Option<PathBuf>,
    /// Answers queries instead of the person (answers file, command…), if given.
    pub answer_source: Option<Arc<dyn AnswerSource>>,
    /// Where package sources live, for showing a package's Lua in the Source pane.
    pub package_dirs: Vec<PathBuf>,
}

/// Builds the model's options from CLI options and config, and picks the theme.
pub fn prepare(opts: &TuiOptions) -> anyhow::Result<(AppOptions, Theme)> {
    let config = Config::load(opts.config.as_deref())?;
    let keymap = config.keymap().context("config [keys]")?;
    let theme_name = opts
        .theme
        .clone()
        .or(config.theme.clone())
        .unwrap_or_else(|| "dark".into());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::resolve(&theme_name, no_color, themes_dir().as_deref())?;
    let app = AppOptions {
        script: opts.script.clone(),
        ctx: opts.ctx.clone(),
        choices: opts.choices.clone(),
        mode: config.mode,
        keymap,
        answer_source: opts.answer_source.as_ref().map(|s| s.name().to_string()),
        transcript: opts.transcript.clone(),
        autostart: true,
        size: (0, 0),
    };
    Ok((app, theme))
}

/// Runs the TUI on the process's terminal until the person quits. The terminal is
/// restored on every way out: return, error, panic, SIGTERM/SIGHUP.
pub async fn run_tui(opts: TuiOptions, starter: Starter) -> anyhow::Result<()> {
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
    let signals = forward_signals(event_loop.sender());
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
    drop(guard);
    result
}

/// SIGTERM and SIGHUP become a quit message, so the loop exits and restores the terminal.
fn forward_signals(
    send: impl Fn(Msg) + Send + Sync + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok()?;
    let mut hup = signal(SignalKind::hangup()).ok()?;
    Some(tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        send(Msg::Terminate);
    }))
}
