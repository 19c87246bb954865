//! `alc-workbench run SCRIPT`: a session driven by an answer source, no screen.
//!
//! With `--provider NAME` a configured model answers every query at once: headless
//! `run` has no editor, so providers always answer automatically (`--mode auto` is
//! accepted; `manual` and `review` need the workbench and are usage errors). When the
//! provider fails after its retries, `--on-provider-error` decides: `fail` fails the
//! query (the Lua call raises, `alc.llm_safe` can catch it); `ask` (the default) asks
//! the person on the terminal — but only when stdin **is** a terminal, since in a
//! pipe or CI nobody could answer, so there it fails like `fail`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{CtxArgs, InputError, SandboxSettings, EXIT_INPUT, EXIT_OK, EXIT_STRATEGY};
use crate::answer::command::CommandSource;
use crate::answer::coprocess::CoprocessSource;
use crate::answer::script::ScriptSource;
use crate::answer::stdin::StdinSource;
use crate::answer::AnswerSource;
use crate::engine::Usage;
use crate::engine::{Metrics, Outcome, ScriptSpec, Session, SessionConfig, Status};
use crate::headless::{drive, Verbosity};
use crate::provider::{cost_usd, FallbackSource, Prices};

/// What `run` does when the provider still fails after its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnProviderError {
    /// Fail the query: the strategy's `alc.llm` raises.
    Fail,
    /// Ask on the terminal when stdin is one; otherwise fail.
    Ask,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A .lua file, or the name of a package (packages/NAME/init.lua).
    #[arg(value_name = "SCRIPT")]
    pub script: String,
    #[command(flatten)]
    pub ctx: CtxArgs,
    /// Answer queries from an answers file (JSON Lines).
    #[arg(long, value_name = "FILE", group = "source")]
    pub answers: Option<PathBuf>,
    /// Answer each query by running CMD (query JSON on stdin, answer on stdout).
    #[arg(long, value_name = "CMD", group = "source")]
    pub answer_cmd: Option<String>,
    /// Answer queries through one long-lived process speaking JSON lines.
    #[arg(long, value_name = "CMD", group = "source")]
    pub answer_proc: Option<String>,
    /// Answer with the provider NAME ([providers.NAME] in the config).
    #[arg(long, value_name = "NAME", group = "source")]
    pub provider: Option<String>,
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
    /// Seconds an answer command or process may take per query.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub answer_timeout: u64,
    /// Write the session transcript (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// Seed for math.random (recorded in the transcript).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Let the strategy run processes (`io.popen`, `os.execute`); refused otherwise.
    /// Config: `allow_exec = true`.
    #[arg(long)]
    pub allow_exec: bool,
    /// Lua memory limit per VM, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub memory_mb: usize,
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
    match (args.mode.as_deref(), &args.provider) {
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

/// The configured provider, wrapped with the `--on-provider-error` policy, and its
/// prices (for the cost figure) when the config gives them.
fn provider_source(
    args: &RunArgs,
    name: &str,
) -> Result<(Arc<dyn AnswerSource>, Option<Prices>), InputError> {
    let provider = crate::provider::load_from_config_file(args.config.as_deref(), name)
        .map_err(|e| InputError(e.to_string()))?;
    let person: Option<Arc<dyn AnswerSource>> = match args.on_provider_error {
        OnProviderError::Ask if std::io::stdin().is_terminal() => {
            Some(Arc::new(StdinSource::new()))
        }
        OnProviderError::Ask | OnProviderError::Fail => None,
    };
    let source =
        FallbackSource::new(provider.source, person).with_notice(Arc::new(|query, error| {
            eprintln!(
                "[warn] {} failed: {error}\n[warn] answer {} yourself:",
                query.id, query.id
            )
        }));
    Ok((Arc::new(source), provider.config.prices))
}

fn source_for(args: &RunArgs) -> Result<Arc<dyn AnswerSource>, InputError> {
    let timeout = Duration::from_secs(args.answer_timeout.max(1));
    if let Some(path) = &args.answers {
        let s = ScriptSource::from_path(path).map_err(|e| InputError(e.to_string()))?;
        return Ok(Arc::new(s));
    }
    if let Some(cmd) = &args.answer_cmd {
        return Ok(Arc::new(CommandSource::new(cmd, timeout)));
    }
    if let Some(cmd) = &args.answer_proc {
        let s = CoprocessSource::spawn(cmd, timeout)
            .map_err(|e| InputError(format!("--answer-proc: {e}")))?;
        return Ok(Arc::new(s));
    }
    // A person at a terminal answers on stdin; piped answers work too (each ends with
    // a line "."), and a closed stdin fails the first query with a message saying so.
    Ok(Arc::new(StdinSource::new()))
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
    let ctx = args.ctx.build()?;
    let mut config = SessionConfig::new(ScriptSpec::parse(&args.script));
    config.ctx = ctx;
    config.seed = args.seed;
    config.transcript = args.transcript.clone();
    config.memory_limit = args.memory_mb.max(1) * 1024 * 1024;
    SandboxSettings::load(args.config.as_deref(), args.allow_exec)?.apply(&mut config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let (source, prices) = match &args.provider {
            Some(name) => provider_source(args, name)?,
            None => (source_for(args)?, None),
        };
        let (session, events) = Session::start(config).map_err(|e| InputError(e.to_string()))?;
        let verbosity = match (args.quiet, args.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Debug,
            _ => Verbosity::Normal,
        };
        let mut stderr = std::io::stderr();
        let drive = drive(&session, events, source, verbosity, &mut stderr);
        tokio::pin!(drive);
        let outcome = tokio::select! {
            o = &mut drive => o,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted: cancelling the strategy");
                session.cancel();
                drive.await
            }
        };
        Ok(report(&outcome, args, prices.as_ref()))
    })
}

/// Prints the result (stdout) and the summary (stderr); returns the exit code.
fn report(outcome: &Outcome, args: &RunArgs, prices: Option<&Prices>) -> u8 {
    if let Some(result) = &outcome.result {
        let text = if args.compact {
            serde_json::to_string(result)
        } else {
            serde_json::to_string_pretty(result)
        };
        println!("{}", text.unwrap_or_else(|_| "null".into()));
    }
    if let Some(err) = &outcome.error {
        match &err.site {
            Some(site) if !err.message.starts_with(&site.to_string()) => {
                eprintln!("error: {site}: {}", err.message)
            }
            _ => eprintln!("error: {}", err.message),
        }
        if let (Some(tb), false) = (&err.traceback, args.quiet) {
            eprintln!("{tb}");
        }
    }
    if !args.quiet {
        let m = &outcome.metrics;
        let usage = Usage {
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
        };
        let mut line = summary(outcome.status, m);
        // Money only with prices in the config; "~" when any tokens were estimated.
        if let Some(cost) = cost_usd(prices, &usage) {
            let approx = if m.token_basis() == "estimated" {
                "~"
            } else {
                ""
            };
            line.push_str(&format!(" · {approx}${cost:.4}"));
        }
        eprintln!("{line}");
    }
    match outcome.status {
        Status::Completed => EXIT_OK,
        Status::Failed | Status::Cancelled => EXIT_STRATEGY,
    }
}

/// One line: status, calls, tokens, time.
pub fn summary(status: Status, m: &Metrics) -> String {
    let person = if m.human_ms > 0 {
        format!(" (+{:.1} s yours)", m.human_ms as f64 / 1000.0)
    } else {
        String::new()
    };
    format!(
        "{} · {} call{} · {} tokens ({}) · {:.2} s{person}",
        status.label(),
        m.llm_calls,
        if m.llm_calls == 1 { "" } else { "s" },
        human_count(m.tokens()),
        m.token_basis(),
        m.elapsed_ms as f64 / 1000.0,
    )
}

fn human_count(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}
