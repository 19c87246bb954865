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
//! the cancel cannot reach.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use clap::{Args, ValueEnum};

use super::source::{Answerer, EngineArgs, SourceArgs};
use super::{CtxArgs, InputError, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_STRATEGY};
use crate::answer::stdin::StdinSource;
use crate::answer::AnswerSource;
use crate::config::Config;
use crate::engine::pricing::{cost_usd, Prices};
use crate::engine::{
    Budget, Metrics, Outcome, ScriptSpec, Session, SessionConfig, Status, CANCEL_GRACE, STUCK_IN_C,
};
use crate::headless::{drive, Verbosity};
use crate::provider::FallbackSource;

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

/// The session, once started: the provider's fallback tells it when a failed query is
/// handed to the person, so their time is theirs.
type PersonClock = Arc<OnceLock<Session>>;

/// The answer source the flags name. A provider is wrapped with the
/// `--on-provider-error` policy and comes with its prices (for the cost figure) when
/// the config gives them. Without a source flag a person at a terminal answers on
/// stdin; piped answers work too (each ends with a line "."), and a closed stdin fails
/// the first query with a message saying so.
fn source_for(
    args: &RunArgs,
    file_config: &Config,
    clock: PersonClock,
) -> Result<(Arc<dyn AnswerSource>, Option<Prices>), InputError> {
    let provider = match args.source.answerer(file_config)? {
        Answerer::Scripted(source) => return Ok((source, None)),
        Answerer::Person => return Ok((Arc::new(StdinSource::new()), None)),
        Answerer::Provider(provider) => provider,
    };
    let person: Option<Arc<dyn AnswerSource>> = match args.on_provider_error {
        OnProviderError::Ask if std::io::stdin().is_terminal() => {
            Some(Arc::new(StdinSource::new()))
        }
        OnProviderError::Ask | OnProviderError::Fail => None,
    };
    let source =
        FallbackSource::new(provider.source, person).with_notice(Arc::new(move |query, error| {
            if let Some(session) = clock.get() {
                let _ = session.person_ready(&query.id);
            }
            eprintln!(
                "[warn] {} failed: {error}\n[warn] answer {} yourself:",
                query.id, query.id
            )
        }));
    Ok((Arc::new(source), provider.config.prices))
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

/// The config in force, read once for the whole run: `--config FILE` (which must
/// exist) or the default file (a missing one is no config). Read even when no provider
/// needs it: a broken or missing file the person named is an input error, not silently
/// ignored, and the file holds the sandbox settings (`allow_exec`, the providers'
/// `api_key_env` names hidden from `os.getenv`).
fn load_config(args: &RunArgs) -> Result<Config, InputError> {
    if let Some(path) = &args.config {
        if !path.exists() {
            return Err(InputError(format!(
                "--config file {} does not exist",
                path.display()
            )));
        }
    }
    Config::load(args.config.as_deref()).map_err(|e| InputError(format!("invalid config: {e}")))
}

fn run_inner(args: &RunArgs) -> Result<u8, InputError> {
    check_mode(args)?;
    let file_config = load_config(args)?;
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
        let (source, prices) = source_for(args, &file_config, clock.clone())?;
        let (session, events) = Session::start(config).map_err(|e| InputError(e.to_string()))?;
        let _ = clock.set(session.clone());
        let budget = session.budget();
        let verbosity = match (args.quiet, args.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Debug,
            _ => Verbosity::Normal,
        };
        let mut stderr = std::io::stderr();
        let drive = drive(&session, events, source, verbosity, &mut stderr);
        let ended = until_interrupted(&session, drive).await?;
        let outcome = match ended {
            Ok(outcome) => outcome,
            Err(unrecorded) => {
                // The strategy is still paused on that query; dropping the session
                // ends it there, without resuming it.
                eprintln!("error: {unrecorded}");
                eprintln!(
                    "error: the strategy was stopped where it waited; give --transcript a \
                     file on a disk that can be written"
                );
                return Ok(EXIT_STRATEGY);
            }
        };
        let code = report(&outcome, &budget, args, prices.as_ref());
        match session.transcript_failure() {
            Some(failure) => {
                eprintln!("error: {failure}; the transcript is incomplete");
                Ok(EXIT_STRATEGY)
            }
            None => Ok(code),
        }
    })
}

/// Drives the session to its end, honouring ctrl-c: the first cancels the strategy
/// (and the outcome is reported as usual); the second ends the process at once with
/// exit 130, after recording `end` (cancelled) in the transcript. The second one is
/// what gets a person out of a strategy stuck in a C call, where cancel cannot reach.
async fn until_interrupted<T>(
    session: &Session,
    drive: impl std::future::Future<Output = T>,
) -> Result<T, InputError> {
    use tokio::signal::unix::{signal, SignalKind};
    // One listener for both presses, so the second cannot slip between two.
    let mut interrupts = signal(SignalKind::interrupt())
        .map_err(|e| InputError(format!("cannot listen for ctrl-c: {e}")))?;
    tokio::pin!(drive);
    tokio::select! {
        o = &mut drive => return Ok(o),
        _ = interrupts.recv() => {}
    }
    eprintln!("interrupted: cancelling the strategy (ctrl-c again quits at once)");
    session.cancel();
    let stuck = tokio::time::sleep(CANCEL_GRACE);
    tokio::pin!(stuck);
    let mut told = false;
    loop {
        tokio::select! {
            o = &mut drive => return Ok(o),
            _ = &mut stuck, if !told => {
                told = true;
                eprintln!("cancel requested · {STUCK_IN_C} — ctrl-c again quits");
            }
            _ = interrupts.recv() => {
                session.abandon();
                eprintln!("interrupted again: quitting without waiting for the strategy");
                // Not a return: dropping the runtime would wait for blocked readers
                // (stdin answers), and the VM thread may never end. The transcript
                // is flushed and synced by now.
                std::process::exit(EXIT_INTERRUPTED.into());
            }
        }
    }
}

/// Prints the result (stdout) and the summary (stderr); returns the exit code.
fn report(outcome: &Outcome, budget: &Budget, args: &RunArgs, prices: Option<&Prices>) -> u8 {
    if let Some(text) = outcome.result_json(!args.compact) {
        println!("{text}");
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
        let mut line = summary(outcome.status, m, budget);
        // Money only with prices in the config; "~" when any tokens were estimated.
        if let Some(cost) = cost_usd(prices, &m.usage()) {
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

/// One line: status, calls, tokens, time, each as the engine counted it. A figure at
/// or under its limit is shown plain; one past it (a batch that started under budget
/// and ended over, as algocline allows) says so: `5 calls (over budget: max 2)`.
pub fn summary(status: Status, m: &Metrics, budget: &Budget) -> String {
    let [calls, time, tokens] = budget.uses(m);
    let over = |is_over: bool, max: String| {
        if is_over {
            format!("over budget: max {max}")
        } else {
            String::new()
        }
    };
    let calls_note = over(calls.is_over(), calls.max.unwrap_or_default().to_string());
    let tokens_note = over(
        tokens.is_over(),
        human_count(tokens.max.unwrap_or_default()),
    );
    let time_note = over(
        time.is_over(),
        format!("{:.2} s", time.max.unwrap_or_default() as f64 / 1000.0),
    );
    let paren = |note: String| {
        if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        }
    };
    let person = if m.human_ms > 0 {
        format!(" (+{:.1} s yours)", m.human_ms as f64 / 1000.0)
    } else {
        String::new()
    };
    let tokens_basis = if tokens_note.is_empty() {
        m.token_basis().to_string()
    } else {
        format!("{}, {tokens_note}", m.token_basis())
    };
    format!(
        "{} · {} call{}{} · {} tokens ({tokens_basis}) · {:.2} s{}{person}",
        status.label(),
        m.llm_calls,
        if m.llm_calls == 1 { "" } else { "s" },
        paren(calls_note),
        human_count(m.tokens()),
        m.elapsed_ms as f64 / 1000.0,
        paren(time_note),
    )
}

fn human_count(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(calls: Option<u64>, ms: Option<u64>, tokens: Option<u64>) -> Budget {
        Budget {
            max_llm_calls: calls,
            max_elapsed_ms: ms,
            max_tokens: tokens,
            strict: false,
        }
    }

    #[test]
    fn the_summary_says_over_budget_only_past_a_limit() {
        let m = Metrics {
            llm_calls: 5,
            estimated_calls: 5,
            prompt_tokens: 1200,
            wall_ms: 2500,
            elapsed_ms: 2500,
            ..Metrics::default()
        };
        let line = summary(Status::Completed, &m, &budget(Some(2), None, None));
        assert_eq!(
            line,
            "completed · 5 calls (over budget: max 2) · 1200 tokens (estimated) · 2.50 s"
        );
        let line = summary(
            Status::Completed,
            &m,
            &budget(Some(5), Some(1500), Some(1000)),
        );
        assert_eq!(
            line,
            "completed · 5 calls · 1200 tokens (estimated, over budget: max 1000) · 2.50 s \
             (over budget: max 1.50 s)"
        );
        let line = summary(Status::Completed, &m, &Budget::default());
        assert!(!line.contains("over budget"), "{line}");
    }
}
