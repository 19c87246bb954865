//! `alc-workbench replay TRANSCRIPT`: re-runs a recorded session with its answers.
//!
//! The recorded script (or `--script FILE`, the edited version) runs with the recorded
//! ctx and seed, on a scratch copy of the recorded `alc.state` snapshot (the real
//! `$ALC_HOME/state` is never touched), and every query is answered from the recording
//! while it matches the recorded one at its place (`engine::replay`).
//!
//! - No answer source and no `--until`: a **check**. Exit 0 when every query matched
//!   and the result is identical; exit 1 at the first divergence, which is named with
//!   a short diff of the recorded and the new text.
//! - With a source (or `--until N`, where the person on stdin answers when no source
//!   is given): replay while queries match (or up to recorded query N), then the
//!   source answers the rest; exit codes as `run`.
//!
//! Bad input (an unreadable or non-transcript file, an older format without a state
//! snapshot, a missing script, `--until` beyond the recording) exits 2. The source
//! flags, driving (ctrl-c twice exits 130, a transcript that cannot be written exits
//! 1), the person's clock and the report are `run`'s (cli/source.rs, cli/drive.rs,
//! cli/report.rs); the verdict's text is cli/replay_check.rs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use sha2::{Digest, Sha256};

use super::drive::{
    drive_to_end, live_source, load_config, person_ready, transcript_verdict, verbosity,
    OnProviderError, PersonClock,
};
use super::replay_check::{check_end, divergence_text, handover_line};
use super::report::{print_result, report, ReportStyle};
use super::source::SourceArgs;
use super::{CtxArgs, InputError, SandboxSettings, EXIT_INPUT, EXIT_OK, EXIT_STRATEGY};
use crate::answer::{AnswerSource, ReplaySource};
use crate::config::Config;
use crate::engine::replay::{Recording, ReplayCursor, ScratchState, Stop};
use crate::engine::{InstantHook, ScriptSpec, Session, SessionConfig};

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The transcript to replay (from `run --transcript` or the workbench).
    #[arg(value_name = "TRANSCRIPT")]
    pub recorded: PathBuf,
    /// Run this script instead of the recorded one (the edited version).
    #[arg(long, value_name = "FILE")]
    pub script: Option<String>,
    /// Replay only the first N recorded answers; from query N+1 on the answer source
    /// answers (or the person on stdin).
    #[arg(long, value_name = "N")]
    pub until: Option<usize>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// When the provider fails after retries: fail the query, or ask on the terminal
    /// (only when stdin is a terminal; otherwise the query fails).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = OnProviderError::Ask)]
    pub on_provider_error: OnProviderError,
    /// Config file (default: $XDG_CONFIG_HOME/alc-workbench/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the new run's transcript here (its session line names the replayed one).
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// Overrides of the recorded ctx: --ctx replaces it, --task and budgets set fields.
    #[command(flatten)]
    pub ctx: CtxArgs,
    /// Lua memory limit per VM, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub memory_mb: usize,
    /// Let the strategy run processes (`io.popen`, `os.execute`); refused otherwise.
    /// Config: `allow_exec = true`. Not recorded: a replay asks for it again.
    #[arg(long)]
    pub allow_exec: bool,
    /// Print the result as one line of JSON.
    #[arg(long)]
    pub compact: bool,
    /// Only errors and the verdict on stderr.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Debug logs and progress on stderr too.
    #[arg(long, short)]
    pub verbose: bool,
}

impl ReplayArgs {
    /// A check compares only: no source named and no rewind point.
    fn is_check(&self) -> bool {
        let s = &self.source;
        self.until.is_none()
            && s.answers.is_none()
            && s.answer_cmd.is_none()
            && s.answer_proc.is_none()
            && s.provider.is_none()
    }
}

pub(super) fn replay(args: ReplayArgs) -> u8 {
    match replay_inner(&args) {
        Ok(code) => code,
        Err(InputError(msg)) => {
            eprintln!("error: {msg}");
            EXIT_INPUT
        }
    }
}

/// Notes for the person, unless `-q`.
fn note(args: &ReplayArgs, msg: &str) {
    if !args.quiet {
        eprintln!("{msg}");
    }
}

fn replay_inner(args: &ReplayArgs) -> Result<u8, InputError> {
    let file_config = load_config(args.config.as_deref())?;
    let shown = args.recorded.display().to_string();
    let recording = Recording::load(&args.recorded).map_err(|e| InputError(e.to_string()))?;
    for warning in &recording.warnings {
        eprintln!("{warning}");
    }
    if !crate::engine::determinism::string_hash_seed_is_fixed() {
        eprintln!("warning: {}", crate::engine::determinism::UNFIXED_SEED);
    }
    let Some(state) = recording.state.clone() else {
        return Err(InputError(format!(
            "{shown} was recorded by an older alc-workbench: its session line has no \
             `state` snapshot, so it cannot be replayed faithfully; record the run again \
             with `alc-workbench run SCRIPT --transcript FILE`"
        )));
    };
    if let Some(error) = &state.error {
        return Err(InputError(format!(
            "{shown}: no state snapshot: the recorded run could not read its alc.state \
             namespace {:?} ({error})",
            state.ns
        )));
    }
    if let Some(n) = args.until {
        let answers = recording.replies();
        if n > answers {
            return Err(InputError(format!(
                "--until {n} is beyond the recording: {shown} has {answers} answer{}",
                if answers == 1 { "" } else { "s" }
            )));
        }
    }
    let spec = script_spec(args, &recording)?;
    let ctx = args.ctx.build_on(recording.ctx.clone())?;
    let scratch = ScratchState::create(&state, &crate::engine::session::default_alc_home())
        .map_err(InputError)?;
    if let Some(msg) = scratch.notice() {
        note(args, &msg);
    }
    let mut config = recording.session_config(spec, scratch.path());
    config.ctx = ctx;
    config.transcript = args.transcript.clone();
    config.memory_limit = args.memory_mb.max(1) * 1024 * 1024;
    SandboxSettings::from_config(&file_config, args.allow_exec).apply(&mut config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    let recording = Arc::new(recording);
    rt.block_on(run_replay(args, recording, config, &file_config))
}

/// The recorded script, or `--script` (noting when it is another script).
fn script_spec(args: &ReplayArgs, rec: &Recording) -> Result<ScriptSpec, InputError> {
    let shown = args.recorded.display();
    if let Some(given) = &args.script {
        let spec = ScriptSpec::parse(given);
        let same = match (&spec, &rec.package) {
            (ScriptSpec::Package(name), Some(p)) => name == p,
            (ScriptSpec::File(path), None) => same_file(path, Path::new(&rec.script)),
            _ => false,
        };
        if !same {
            note(
                args,
                &format!(
                    "note: {shown} is a transcript of {}; replaying it against {given} \
                     (--script)",
                    rec.script
                ),
            );
        }
        return Ok(spec);
    }
    let spec = rec.script_spec();
    if matches!(&spec, ScriptSpec::File(path) if !path.is_file()) {
        return Err(InputError(format!(
            "the script {} recorded in {shown} is missing (a relative path is taken from \
             the current directory); pass --script FILE",
            rec.script
        )));
    }
    Ok(spec)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

async fn run_replay(
    args: &ReplayArgs,
    recording: Arc<Recording>,
    config: SessionConfig,
    file_config: &Config,
) -> Result<u8, InputError> {
    let check = args.is_check();
    let clock = PersonClock::default();
    let (live, prices) = if check {
        (None, None)
    } else {
        let (source, prices) = live_source(
            &args.source,
            file_config,
            args.on_provider_error,
            clock.clone(),
        )?;
        (Some(source), prices)
    };
    let live_name = live.as_ref().map(|s| s.name().to_string());
    let (stop_tx, mut stops) = tokio::sync::mpsc::unbounded_channel();
    let quiet = args.quiet;
    let mut cursor = ReplayCursor::new(recording.clone());
    if let Some(n) = args.until {
        cursor = cursor.until(n);
    }
    let source = ReplaySource::new(cursor, live).with_stop_notice(Arc::new(move |stop| {
        if !check && !quiet {
            eprintln!("{}", handover_line(stop, live_name.as_deref()));
        }
        let _ = stop_tx.send(stop.clone());
    }));
    let person_clock = clock.clone();
    let source = source.with_person_notice(Arc::new(move |id| person_ready(&person_clock, id)));
    let cursor = source.shared_cursor();
    let source = Arc::new(source);
    // Replayed answers are given on the VM thread: no hand-off per answer.
    let mut config = config;
    config.instant_answers = Some(InstantHook(source.clone()));
    let source: Arc<dyn AnswerSource> = source;
    let (session, events) = Session::start(config).map_err(|e| InputError(e.to_string()))?;
    let _ = clock.set(session.clone());
    let budget = session.budget();
    let new_sha = format!("{:x}", Sha256::digest(session.script().text.as_bytes()));
    if new_sha != recording.script_sha256 {
        note(
            args,
            &format!(
                "note: {} differs from the recorded script (sha256 {} → {}): replaying up to \
                 the first changed prompt",
                session.script().display,
                short(&recording.script_sha256),
                short(&new_sha)
            ),
        );
    }
    let drive = drive_to_end(
        &session,
        events,
        source,
        verbosity(args.quiet, args.verbose),
    );
    tokio::pin!(drive);
    let mut stopped: Option<Stop> = None;
    let ended = loop {
        tokio::select! {
            ended = &mut drive => break ended?,
            Some(stop) = stops.recv(), if check && stopped.is_none() => {
                // A check ends at the first divergence: nobody could answer the rest.
                stopped = Some(stop);
                session.cancel();
            }
        }
    };
    let outcome = match ended {
        Ok(outcome) => outcome,
        Err(code) => return Ok(code),
    };
    let cursor = cursor.lock().unwrap_or_else(|e| e.into_inner());
    if !check {
        note(
            args,
            &format!(
                "replay: {} of {} answers replayed",
                cursor.replayed(),
                recording.replies()
            ),
        );
        let style = ReportStyle {
            compact: args.compact,
            quiet: args.quiet,
        };
        let code = report(&outcome, &budget, style, prices.as_ref());
        return Ok(transcript_verdict(&session, code));
    }
    let verdict = match stopped {
        Some(Stop::Diverged(d)) => Err(divergence_text(&d)),
        Some(Stop::Until(_)) => Err(vec!["replay stopped early".into()]),
        None => check_end(&cursor, &recording, &outcome),
    };
    let code = match verdict {
        Ok(()) => {
            print_result(&outcome, args.compact);
            eprintln!(
                "identical · {} of {} answers replayed · result identical",
                cursor.replayed(),
                recording.replies()
            );
            EXIT_OK
        }
        Err(lines) => {
            for line in lines {
                eprintln!("{line}");
            }
            EXIT_STRATEGY
        }
    };
    Ok(transcript_verdict(&session, code))
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
