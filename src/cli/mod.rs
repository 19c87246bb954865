//! The process edge: arguments, exit codes, and turning errors into messages.
//! `alc-workbench [SCRIPT]` opens the TUI; `alc-workbench run SCRIPT` runs headless;
//! `alc-workbench replay TRANSCRIPT` re-runs a recorded session headless.
//!
//! Exit codes are a contract: 0 completed, 1 strategy error (failed or cancelled, or
//! its transcript could not be written: an answer not acknowledged, lines missing),
//! 2 usage or input error (bad flags, missing script, invalid ctx JSON, bad answers
//! file…). clap's own usage errors also exit 2. A process ended by a signal exits
//! 128 + the signal's number (130 for a second ctrl-c in `run` or `replay`; the TUI on SIGINT,
//! SIGQUIT, SIGHUP or SIGTERM).

pub mod catalog;
mod drive;
mod replay;
mod replay_check;
mod report;
mod run;
mod source;
mod tui;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::limits::{read_input_file, MAX_INPUT_FILE_BYTES};

pub use run::RunArgs;
pub use source::{Answerer, EngineArgs, SourceArgs};

/// Exit code of a completed strategy.
pub const EXIT_OK: u8 = 0;
/// Exit code of a strategy that failed (or was cancelled, or could not be recorded).
pub const EXIT_STRATEGY: u8 = 1;
/// Exit code of a usage or input error.
pub const EXIT_INPUT: u8 = 2;
/// Exit code after a second ctrl-c in `run` (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 128 + libc::SIGINT as u8;

#[derive(Debug, Parser)]
#[command(
    name = "alc-workbench",
    version,
    about = "A terminal workbench for algocline-style LLM reasoning strategies",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tui: tui::TuiArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a strategy headlessly: result JSON on stdout, a summary on stderr.
    Run(RunArgs),
    /// Re-run a transcript with its recorded answers: check it is identical, or
    /// replay up to a point (--until N, or the first changed prompt) and go on live.
    Replay(replay::ReplayArgs),
}

/// Where the session's ctx comes from, shared by `run` and the TUI.
#[derive(Debug, Clone, Args)]
pub struct CtxArgs {
    /// The ctx as JSON, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    pub ctx: Option<String>,
    /// Sets ctx.task.
    #[arg(long, value_name = "TEXT")]
    pub task: Option<String>,
    /// Sets ctx.budget.max_llm_calls.
    #[arg(long, value_name = "N")]
    pub budget_calls: Option<u64>,
    /// Sets ctx.budget.max_elapsed_ms.
    #[arg(long, value_name = "N")]
    pub budget_ms: Option<u64>,
    /// Sets ctx.budget.max_tokens.
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Sets ctx.budget.strict: also refuse a batch whose size would pass the calls
    /// limit (without it, as in algocline, a batch is checked only before it starts).
    #[arg(long)]
    pub budget_strict: bool,
}

/// An input error: printed as `error: …` and exit 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl CtxArgs {
    /// Builds the ctx object: `--ctx` first, then `--task` and the budget flags on top.
    pub fn build(&self) -> Result<serde_json::Value, InputError> {
        self.build_on(serde_json::json!({}))
    }

    /// Like [`CtxArgs::build`], starting from `base` (a replay's recorded ctx) when
    /// `--ctx` is not given; `--ctx` replaces it whole.
    pub fn build_on(&self, base: serde_json::Value) -> Result<serde_json::Value, InputError> {
        let mut ctx = match self.ctx.as_deref() {
            None => base,
            Some(arg) => {
                let (text, origin) = match arg.strip_prefix('@') {
                    Some(path) => (read_ctx_file(path)?, path.to_string()),
                    None => (arg.to_string(), "--ctx".to_string()),
                };
                serde_json::from_str(&text).map_err(|e| {
                    InputError(format!(
                        "invalid JSON in {origin} (line {}, column {}): {e}",
                        e.line(),
                        e.column()
                    ))
                })?
            }
        };
        let Some(obj) = ctx.as_object_mut() else {
            return Err(InputError(
                "--ctx must be a JSON object, like {\"task\": \"…\"}".into(),
            ));
        };
        if let Some(t) = &self.task {
            obj.insert("task".into(), t.clone().into());
        }
        let limits = [
            ("max_llm_calls", self.budget_calls),
            ("max_elapsed_ms", self.budget_ms),
            ("max_tokens", self.budget_tokens),
        ];
        if limits.iter().any(|(_, v)| v.is_some()) || self.budget_strict {
            let budget = obj.entry("budget").or_insert_with(|| serde_json::json!({}));
            let Some(b) = budget.as_object_mut() else {
                return Err(InputError("ctx.budget must be an object".into()));
            };
            for (k, v) in limits {
                if let Some(v) = v {
                    b.insert(k.into(), v.into());
                }
            }
            if self.budget_strict {
                b.insert("strict".into(), true.into());
            }
        }
        Ok(ctx)
    }
}

/// What the sandbox lets strategies do, from the flags and the config in force.
#[derive(Debug, Clone, Default)]
pub(crate) struct SandboxSettings {
    /// `--allow-exec`, or `allow_exec = true` in the config.
    pub allow_exec: bool,
    /// The providers' `api_key_env` names, hidden from `os.getenv`.
    pub secret_env: Vec<String>,
}

impl SandboxSettings {
    /// `allow_exec` and the providers' key variable names from the config in force
    /// (`--config FILE` or the default one, loaded by the caller).
    pub fn from_config(config: &crate::config::Config, allow_exec_flag: bool) -> Self {
        SandboxSettings {
            allow_exec: allow_exec_flag || config.allow_exec,
            secret_env: config.secret_env_names(),
        }
    }

    pub fn apply(&self, session: &mut crate::engine::SessionConfig) {
        session.allow_exec = self.allow_exec;
        session.secret_env = self.secret_env.clone();
    }
}

/// The text of `--ctx @FILE`: at most [`MAX_INPUT_FILE_BYTES`], UTF-8.
fn read_ctx_file(path: &str) -> Result<String, InputError> {
    let bytes = read_input_file(Path::new(path), MAX_INPUT_FILE_BYTES, "--ctx files")
        .map_err(|e| InputError(format!("cannot read --ctx file {path}: {e}")))?;
    String::from_utf8(bytes).map_err(|_| InputError(format!("--ctx file {path} is not UTF-8 text")))
}

/// Parses arguments and runs; returns the process exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Replay(args)) => replay::replay(args),
        None => tui::run(cli.tui),
    }
}

/// `$XDG_DATA_HOME/alc-workbench` (default `~/.local/share/alc-workbench`).
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("alc-workbench");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".local/share/alc-workbench")
}
