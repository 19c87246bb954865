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
//! snapshot, a missing script, `--until` beyond the recording) exits 2. Driving,
//! answer sources and the report are `run`'s (cli/run.rs, headless.rs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use sha2::{Digest, Sha256};

use super::run::{
    check_config, drive_to_end, live_source, print_result, report, transcript_verdict, verbosity,
    SourceArgs,
};
use super::{CtxArgs, InputError, EXIT_INPUT, EXIT_OK, EXIT_STRATEGY};
use crate::answer::{describe_query, AnswerSource, ReplaySource};
use crate::engine::replay::{
    unified_diff, Divergence, QueryField, RecordedEnd, Recording, ReplayCursor, ScratchState, Stop,
};
use crate::engine::{Outcome, ScriptSpec, Session, SessionConfig};

/// Lines of a unified diff shown at a divergence.
const DIFF_LINES: usize = 40;

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
    /// Write the new run's transcript here (its session line names the replayed one).
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// Overrides of the recorded ctx: --ctx replaces it, --task and budgets set fields.
    #[command(flatten)]
    pub ctx: CtxArgs,
    /// Lua memory limit per VM, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub memory_mb: usize,
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
    check_config(&args.source)?;
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| InputError(format!("cannot start the async runtime: {e}")))?;
    let recording = Arc::new(recording);
    rt.block_on(run_replay(args, recording, config))
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
) -> Result<u8, InputError> {
    let check = args.is_check();
    let (live, prices) = if check {
        (None, None)
    } else {
        let (source, prices) = live_source(&args.source)?;
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
    let cursor = source.shared_cursor();
    let source: Arc<dyn AnswerSource> = Arc::new(source);
    let (session, events) = Session::start(config).map_err(|e| InputError(e.to_string()))?;
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
        let code = report(&outcome, args.compact, args.quiet, prices.as_ref());
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

/// What a non-check replay says when the live source takes over.
fn handover_line(stop: &Stop, live: Option<&str>) -> String {
    let live = live.unwrap_or("the answer source");
    match stop {
        Stop::Diverged(d) => format!(
            "replay ended at {}: {}; {live} answers from here",
            d.place(),
            d.reason()
        ),
        Stop::Until(n) => {
            format!("replayed up to query {n} (--until {n}); {live} answers from here")
        }
    }
}

/// `diverged at q-K (query K): why`, then the recorded and the new text as a diff.
fn divergence_text(d: &Divergence) -> Vec<String> {
    let mut lines = vec![format!("diverged at {}: {}", d.place(), d.reason())];
    let Some(rec) = &d.recorded else {
        lines.push(format!("new query: {}", describe_query(&d.query)));
        lines.extend(unified_diff(
            "",
            &d.query.prompt,
            "recorded (none)",
            "new prompt",
            2,
            DIFF_LINES,
        ));
        return lines;
    };
    let (old, new) = (&rec.query, &d.query);
    let mut fields = match &d.mismatch {
        crate::engine::replay::Mismatch::Changed(f) => f.clone(),
        _ => Vec::new(),
    };
    if fields.is_empty() {
        lines.push(format!("recorded query: {}", describe_query(old)));
    }
    fields.retain(|f| !matches!(f, QueryField::Prompt | QueryField::System));
    for field in fields {
        let show = |q: &crate::engine::Query| match field {
            QueryField::MaxTokens => q.max_tokens.to_string(),
            QueryField::Grounded => q.grounded.to_string(),
            QueryField::Underspecified => q.underspecified.to_string(),
            _ => q
                .batch
                .map_or("none".into(), |b| format!("{} of {}", b.index + 1, b.size)),
        };
        lines.push(format!(
            "{}: recorded {}, new {}",
            field.label(),
            show(old),
            show(new)
        ));
    }
    let label = |what: &str, who: &str| format!("{who} {} {what}", rec.query.id);
    lines.extend(unified_diff(
        old.system.as_deref().unwrap_or(""),
        new.system.as_deref().unwrap_or(""),
        &label("system", "recorded"),
        &label("system", "new"),
        2,
        DIFF_LINES,
    ));
    lines.extend(unified_diff(
        &old.prompt,
        &new.prompt,
        &label("prompt", "recorded"),
        &label("prompt", "new"),
        2,
        DIFF_LINES,
    ));
    lines
}

/// After a run that never diverged: every recorded query asked, and the same end.
fn check_end(cursor: &ReplayCursor, rec: &Recording, outcome: &Outcome) -> Result<(), Vec<String>> {
    let unasked = cursor.unasked();
    if let Some(first) = unasked.first() {
        let mut lines = vec![format!(
            "diverged at the result: the new run finished without asking {} recorded quer{} \
             (first: {} (query {}))",
            unasked.len(),
            if unasked.len() == 1 { "y" } else { "ies" },
            first.query.id,
            first.position
        )];
        for fork in cursor.silent_forks() {
            lines.push(format!(
                "fork child {fork} asked nothing in this run (it no longer exists or is no \
                 longer forked)"
            ));
        }
        return Err(lines);
    }
    let Some(end) = &rec.end else {
        return Err(vec![
            "diverged at the result: the recording has no `end` line (the recorded run was \
             cut off), so there is no result to compare"
                .into(),
        ]);
    };
    let new = RecordedEnd {
        status: outcome.status,
        result: outcome.result.clone(),
        error: outcome.error.as_ref().map(|e| e.message.clone()),
    };
    if &new == end {
        return Ok(());
    }
    let text = |e: &RecordedEnd| {
        let v =
            serde_json::json!({"status": e.status.label(), "result": e.result, "error": e.error});
        serde_json::to_string_pretty(&v).unwrap_or_default()
    };
    let mut lines = vec!["diverged at the result".to_string()];
    lines.extend(unified_diff(
        &text(end),
        &text(&new),
        "recorded result",
        "new result",
        3,
        DIFF_LINES,
    ));
    Err(lines)
}
