//! Driving a headless session to its end, shared by `run` and `replay`: the live
//! answer source behind the flags (with the provider's `--on-provider-error` policy
//! and the person's clock), reading the config in force, ctrl-c handling (the first cancels,
//! the second exits 130), and the transcript's last word on the exit code.
//!
//! This room builds sources and drives sessions; what is printed at the end is
//! cli/report.rs, and the source flags themselves are cli/source.rs.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use clap::ValueEnum;

use super::source::{Answerer, SourceArgs};
use super::{InputError, EXIT_INTERRUPTED, EXIT_STRATEGY};
use crate::answer::stdin::StdinSource;
use crate::answer::AnswerSource;
use crate::config::Config;
use crate::engine::{EventStream, Outcome, Session, CANCEL_GRACE, STUCK_IN_C};
use crate::headless::{drive, Verbosity};
use crate::provider::{FallbackSource, Prices};

/// What `run` (and `replay`) does when the provider still fails after its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnProviderError {
    /// Fail the query: the strategy's `alc.llm` raises.
    Fail,
    /// Ask on the terminal when stdin is one; otherwise fail.
    Ask,
}

/// The session, once started: whoever hands a query to the person (the provider's
/// fallback, a replay handing over to stdin) tells it so, and the time is theirs.
pub(super) type PersonClock = Arc<OnceLock<Session>>;

/// Tells the session behind `clock` (when started) that query `id` waits on the person.
pub(super) fn person_ready(clock: &PersonClock, id: &str) {
    if let Some(session) = clock.get() {
        // Only fails when the query is already gone; then nothing is timed.
        let _ = session.person_ready(id);
    }
}

/// The answer source the flags name. A provider is wrapped with the
/// `--on-provider-error` policy and comes with its prices (for the cost figure) when
/// the config gives them. Without a source flag a person at a terminal answers on
/// stdin; piped answers work too (each ends with a line "."), and a closed stdin fails
/// the first query with a message saying so. Must be called inside a Tokio runtime.
pub(super) fn live_source(
    source: &SourceArgs,
    config: &Config,
    on_provider_error: OnProviderError,
    clock: PersonClock,
) -> Result<(Arc<dyn AnswerSource>, Option<Prices>), InputError> {
    let provider = match source.answerer(config)? {
        Answerer::Scripted(source) => return Ok((source, None)),
        Answerer::Person => return Ok((Arc::new(StdinSource::new()), None)),
        Answerer::Provider(provider) => provider,
    };
    let person: Option<Arc<dyn AnswerSource>> = match on_provider_error {
        OnProviderError::Ask if std::io::stdin().is_terminal() => {
            Some(Arc::new(StdinSource::new()))
        }
        OnProviderError::Ask | OnProviderError::Fail => None,
    };
    let source =
        FallbackSource::new(provider.source, person).with_notice(Arc::new(move |query, error| {
            person_ready(&clock, &query.id);
            eprintln!(
                "[warn] {} failed: {error}\n[warn] answer {} yourself:",
                query.id, query.id
            )
        }));
    Ok((Arc::new(source), provider.config.prices))
}

/// The config in force, read once for the whole run: `--config FILE` (which must
/// exist) or the default file (a missing one is no config). Read even when no provider
/// needs it: a broken or missing file the person named is an input error, not silently
/// ignored, and the file holds the sandbox settings (`allow_exec`, the providers'
/// `api_key_env` names hidden from `os.getenv`).
pub(super) fn load_config(config: Option<&Path>) -> Result<Config, InputError> {
    if let Some(path) = config {
        if !path.exists() {
            return Err(InputError(format!(
                "--config file {} does not exist",
                path.display()
            )));
        }
    }
    Config::load(config).map_err(|e| InputError(format!("invalid config: {e}")))
}

/// `-q` / `-v` as the driver's verbosity.
pub(super) fn verbosity(quiet: bool, verbose: bool) -> Verbosity {
    match (quiet, verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Debug,
        _ => Verbosity::Normal,
    }
}

/// Drives the session to its end (ctrl-c honoured, see [`until_interrupted`]).
/// `Err(exit code)` when it stopped because an answer could not be recorded (already
/// reported on stderr).
pub(super) async fn drive_to_end(
    session: &Session,
    events: EventStream,
    source: Arc<dyn AnswerSource>,
    verbosity: Verbosity,
) -> Result<Result<Outcome, u8>, InputError> {
    let mut stderr = std::io::stderr();
    let drive = drive(session, events, source, verbosity, &mut stderr);
    match until_interrupted(session, drive).await? {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(unrecorded) => {
            // The strategy is still paused on that query; dropping the session
            // ends it there, without resuming it.
            eprintln!("error: {unrecorded}");
            eprintln!(
                "error: the strategy was stopped where it waited; give --transcript a \
                 file on a disk that can be written"
            );
            Ok(Err(EXIT_STRATEGY))
        }
    }
}

/// `code`, unless the transcript lost lines: then that is said and the exit is 1.
pub(super) fn transcript_verdict(session: &Session, code: u8) -> u8 {
    match session.transcript_failure() {
        Some(failure) => {
            eprintln!("error: {failure}; the transcript is incomplete");
            EXIT_STRATEGY
        }
        None => code,
    }
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
