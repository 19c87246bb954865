//! `alc-workbench run SCRIPT`: a session driven by an answer source, no screen.
//!
//! With `--provider NAME` a configured model answers every query at once: headless
//! `run` has no editor, so providers always answer automatically (`--mode auto` is
//! accepted; `manual` and `review` need the workbench and are usage errors). When the
//! provider fails after its retries, `--on-provider-error` decides: `fail` fails the
//! query (the Lua call raises, `alc.llm_safe` can catch it); `ask` (the default) asks
//! the person on the terminal — but only when stdin **is** a terminal, since in a
//! pipe or CI nobody could answer, so there it fails like `fail`.
//!
//! ctrl-c cancels the strategy; a second ctrl-c ends the process at once (exit 130)
//! with the transcript closed as cancelled, for a strategy stuck in a C call that
//! the cancel cannot reach. Building the source, driving and reporting are shared
//! with `replay` (cli/drive.rs, cli/report.rs).

use std::path::PathBuf;

use clap::Args;

use super::drive::{
    drive_to_end, live_source, load_config, transcript_verdict, verbosity, OnProviderError,
    PersonClock,
};
use super::report::{report, ReportStyle};
use super::source::{EngineArgs, SourceArgs};
use super::{CtxArgs, InputError, EXIT_INPUT};
use crate::engine::{ScriptSpec, Session, SessionConfig};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A .lua file, or the name of a package (packages/NAME/init.lua).
    #[arg(value_name = "SCRIPT")]
    pub script: String,
    #[command(flatten)]
    pub ctx: CtxArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Routing of queries; `run` has no editor, so only `auto` (the provider answers).
    #[arg(long, value_name = "MODE", value_parser = ["manual", "auto", "review"])]
    pub mode: Option<String>,
    /// When the provider fails after retries: fail the query, or ask on the terminal
    /// (only when stdin is a terminal; otherwise the query fails).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = OnProviderError::Ask)]
    pub on_provider_error: OnProviderError,
    /// Config file (default: $XDG_CONFIG_HOME/alc-workbench/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the session transcript (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Print the result as one line of JSON.
    #[arg(long)]
    pub compact: bool,
    /// Only errors on stderr (no logs, no summary).
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Debug logs and progress on stderr too.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Rejects `--mode` values that need a person at an editor.
fn check_mode(args: &RunArgs) -> Result<(), InputError> {
    match (args.mode.as_deref(), &args.source.provider) {
        (None, _) | (Some("auto"), Some(_)) => Ok(()),
        (Some("auto"), None) => Err(InputError(
            "--mode auto needs --provider NAME (the model that answers)".into(),
        )),
        (Some(mode), _) => Err(InputError(format!(
            "--mode {mode} needs the workbench: `run` has no screen to review or type \
             answers in, so a provider always answers automatically there. Use \
             --mode auto, or open the workbench: alc-workbench SCRIPT --provider NAME"
        ))),
    }
}

pub(super) fn run(args: RunArgs) -> u8 {
    match run_inner(&args) {
        Ok(code) => code,
        Err(InputError(msg)) => {
            eprintln!("error: {msg}");
            EXIT_INPUT
        }
    }
}

fn run_inner(args: &RunArgs) -> Result<u8, InputError> {
    check_mode(args)?;
    let file_config = load_config(args.config.as_deref())?;
    let ctx = args.ctx.build()?;
    let mut config = SessionConfig::new(ScriptSpec::parse(&args.script));
    config.ctx = ctx;
    config.transcript = args.transcript.clone();
    args.engine.apply(&mut config);
    args.engine.sandbox(&file_config).apply(&mut config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let clock = PersonClock::default();
        let (source, prices) = live_source(
            &args.source,
            &file_config,
            args.on_provider_error,
            clock.clone(),
        )?;
        let (session, events) = Session::start(config).map_err(|e| InputError(e.to_string()))?;
        let _ = clock.set(session.clone());
        let budget = session.budget();
        let verbosity = verbosity(args.quiet, args.verbose);
        let outcome = match drive_to_end(&session, events, source, verbosity).await? {
            Ok(outcome) => outcome,
            Err(code) => return Ok(code),
        };
        let style = ReportStyle {
            compact: args.compact,
            quiet: args.quiet,
        };
        let code = report(&outcome, &budget, style, prices.as_ref());
        Ok(transcript_verdict(&session, code))
    })
}
