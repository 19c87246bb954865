//! `alc-workbench [SCRIPT]`: the interactive workbench. Glue between the engine's
//! `Session` and the TUI's `SessionPort`, kept here so neither room knows the other.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::source::{Answerer, EngineArgs, SourceArgs};
use super::{data_dir, CtxArgs, InputError, SandboxSettings, EXIT_INPUT, EXIT_OK};
use crate::answer::AnswerSource;
use crate::app::port::{Refusal, SessionPort, StartRequest, StartedSession, Starter};
use crate::app::replay::ReplayStart;
use crate::app::stack::{DebugReply, DebugRequest};
use crate::app::{Mode, OnProviderError};
use crate::engine::packages;
use crate::engine::replay::{Recording, ScratchState};
use crate::engine::session::default_alc_home;
use crate::engine::{
    Answer, BreakpointSpec, EngineError, Metrics, Scope, ScriptSpec, Session, SessionConfig,
};
use crate::runtime::{run_tui, TuiExit, TuiOptions};

#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    /// A .lua file or a package name; without one, a picker opens.
    #[arg(value_name = "SCRIPT")]
    pub script: Option<String>,
    #[command(flatten)]
    pub ctx: CtxArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Starting mode: manual (you answer), auto (the provider answers), review (the
    /// provider drafts, you edit or accept). Default: config `mode`, else manual.
    #[arg(long, value_name = "MODE", value_parser = ["manual", "auto", "review"])]
    pub mode: Option<String>,
    /// When the provider fails after retries in auto mode: `ask` hands the query to
    /// you, `fail` fails it so the strategy's `alc.llm` raises.
    #[arg(long, value_name = "POLICY", value_parser = ["ask", "fail"], default_value = "ask")]
    pub on_provider_error: String,
    /// Transcript file (default: a new file per run under the data directory).
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// Theme name: dark, light, high-contrast, or a user theme.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/alc-workbench/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Replay this transcript: its recorded answers arrive as a fast answer source
    /// while the prompts match, on a scratch copy of its recorded state. SCRIPT, when
    /// given, is the edited version to run instead of the recorded script.
    #[arg(long, value_name = "TRANSCRIPT")]
    pub replay: Option<PathBuf>,
    /// With --replay: replay only the first N recorded answers; query N+1 waits for
    /// you with its recorded answer as the draft.
    #[arg(long, value_name = "N", requires = "replay")]
    pub until: Option<usize>,
    /// Stop at FILE:LINE (repeatable; FILE is matched as a path suffix, so `s.lua:7`
    /// and `cot/init.lua:111` work). F8 continues, F10/F11/shift-F11 step.
    #[arg(long = "break", value_name = "FILE:LINE", value_parser = parse_break)]
    pub breakpoints: Vec<BreakpointSpec>,
}

impl SessionPort for Session {
    fn answer(&self, id: &str, answer: Answer) -> Result<(), Refusal> {
        Session::answer(self, id, answer).map_err(refusal)
    }
    fn fail(&self, id: &str, error: &str) -> Result<(), Refusal> {
        Session::fail(self, id, error).map_err(refusal)
    }
    fn cancel(&self) {
        Session::cancel(self)
    }
    fn person_ready(&self, id: &str) -> Result<(), String> {
        Session::person_ready(self, id).map_err(|e| e.to_string())
    }
    fn person_away(&self, id: &str) {
        Session::person_away(self, id)
    }
    fn metrics(&self) -> Metrics {
        Session::metrics(self)
    }
    fn abandon(&self) {
        Session::abandon(self);
    }
    fn transcript(&self) -> Option<PathBuf> {
        Session::transcript_path(self)
    }
    fn redirect_transcript(&self, path: &Path) -> Result<(), String> {
        Session::redirect_transcript(self, path).map_err(|e| e.to_string())
    }
    fn stop_recording(&self, reason: &str) {
        Session::stop_recording(self, reason)
    }
    fn debug(&self, request: DebugRequest) -> DebugReply {
        debug_request(self, request)
    }
}

/// Runs one debugger request against the session (blocks until the stopped VM answers).
fn debug_request(session: &Session, request: DebugRequest) -> DebugReply {
    let refused = |e: crate::engine::DebugError| DebugReply::Refused(e.to_string());
    match request {
        DebugRequest::Resume { stop, mode } => match session.debug_resume(stop, mode) {
            Ok(()) => DebugReply::Resumed,
            Err(e) => refused(e),
        },
        DebugRequest::Variables { stop, frame } => {
            let vars = |scope| {
                session
                    .debug_variables(stop, frame, scope, Some(VALUE_LEN))
                    .map_err(|e| e.to_string())
            };
            let result = vars(Scope::Locals).and_then(|l| Ok((l, vars(Scope::Upvalues)?)));
            DebugReply::Variables {
                stop,
                frame,
                result,
            }
        }
        DebugRequest::Expand { stop, handle } => DebugReply::Expanded {
            stop,
            handle,
            result: session
                .debug_expand(stop, handle, Some(VALUE_LEN))
                .map_err(|e| e.to_string()),
        },
        DebugRequest::SetBreakpoint(spec) => {
            match session.set_breakpoint(&spec.file, spec.line, spec.condition.as_deref()) {
                Ok(_) => DebugReply::Breakpoints(Ok(session.breakpoints())),
                Err(e) => refused(e),
            }
        }
        DebugRequest::ClearBreakpoint(id) => match session.clear_breakpoint(id) {
            Ok(()) => DebugReply::Breakpoints(Ok(session.breakpoints())),
            Err(e) => refused(e),
        },
        DebugRequest::ListBreakpoints => DebugReply::Breakpoints(Ok(session.breakpoints())),
        DebugRequest::Pause => {
            session.debug_pause();
            DebugReply::Resumed
        }
        DebugRequest::Evaluate { stop, frame, expr } => DebugReply::Evaluated {
            stop,
            result: session
                .debug_evaluate(stop, frame, &expr, Some(VALUE_LEN))
                .map_err(|e| e.to_string()),
            expr,
        },
    }
}

/// Strings longer than this are cut in the Stack pane (the pane is one line a value).
const VALUE_LEN: usize = 200;

/// `--break FILE:LINE`: the file is matched as a path suffix; the line is 1-based.
pub(super) fn parse_break(text: &str) -> Result<BreakpointSpec, String> {
    let bad = |why: &str| format!("--break {text:?}: {why} (expected FILE:LINE, like s.lua:7)");
    let (file, line) = text.rsplit_once(':').ok_or_else(|| bad("no ':LINE'"))?;
    if file.is_empty() {
        return Err(bad("no file"));
    }
    let line: u32 = line
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad("the line is not a number from 1 up"))?;
    Ok(BreakpointSpec {
        file: file.to_string(),
        line,
        condition: None,
    })
}

fn refusal(error: EngineError) -> Refusal {
    match error.unrecorded() {
        Some(failure) => Refusal::Unrecorded {
            path: failure.path.clone(),
            message: error.to_string(),
        },
        None => Refusal::Other(error.to_string()),
    }
}

/// A fresh transcript path per run, so a re-run never overwrites the last one.
fn default_transcript(script: &str) -> PathBuf {
    let stem: String = std::path::Path::new(script)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    data_dir()
        .join("transcripts")
        .join(format!("{ms}-{stem}.jsonl"))
}

fn starter(
    fixed_transcript: Option<PathBuf>,
    engine: EngineArgs,
    sandbox: SandboxSettings,
) -> Starter {
    // The scratch state of the replayed run, kept while it runs (dropping it removes
    // the directory); the next start replaces it.
    let scratch: std::sync::Mutex<Option<ScratchState>> = Default::default();
    Box::new(move |req: &StartRequest| {
        let (mut config, state) = session_config(req)?;
        match &req.replay {
            // The seed is the recorded one.
            Some(_) => config.memory_limit = engine.memory_mb.max(1) * 1024 * 1024,
            None => engine.apply(&mut config),
        }
        sandbox.apply(&mut config);
        let mut path = fixed_transcript
            .clone()
            .or_else(|| req.transcript.clone())
            .unwrap_or_else(|| default_transcript(&req.script));
        // A run never overwrites the transcript it replays.
        if req
            .replay
            .as_ref()
            .is_some_and(|r| same_path(&r.recording.path, &path))
        {
            path = default_transcript(&req.script);
        }
        config.transcript = Some(path);
        let (session, events) = Session::start(config).map_err(|e| e.to_string())?;
        *scratch.lock().unwrap_or_else(|e| e.into_inner()) = state;
        let port: Arc<dyn SessionPort> = Arc::new(session);
        let started: StartedSession = (port, events);
        Ok(started)
    })
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The session config of a TUI run (script and ctx; no transcript). A replayed run
/// runs as the recording did: on a scratch copy of its recorded `alc.state` (returned:
/// keep it while the session runs; the real `$ALC_HOME/state` is never touched), with
/// its seed, and lineage `replay_of`, or `parent` and `branch_at` for a what-if.
pub fn session_config(req: &StartRequest) -> Result<(SessionConfig, Option<ScratchState>), String> {
    let spec = ScriptSpec::parse(&req.script);
    let Some(replay) = &req.replay else {
        let mut config = SessionConfig::new(spec);
        config.ctx = req.ctx.clone();
        config.breakpoints = req.breakpoints.clone();
        return Ok((config, None));
    };
    let rec = &replay.recording;
    let state = replayable_state(rec)?;
    let scratch = ScratchState::create(state, &default_alc_home())?;
    let mut config = rec.session_config(spec, scratch.path());
    config.ctx = req.ctx.clone();
    config.breakpoints = req.breakpoints.clone();
    if let Some(at) = &replay.branch_at {
        config.lineage.parent = config.lineage.replay_of.take();
        config.lineage.branch_at = Some(at.clone());
    }
    Ok((config, Some(scratch)))
}

/// The recorded state snapshot, or why the recording cannot be replayed.
fn replayable_state(rec: &Recording) -> Result<&crate::engine::StateSnapshot, String> {
    let shown = rec.path.display();
    let state = rec.state.as_ref().ok_or_else(|| {
        format!(
            "{shown} was recorded by an older alc-workbench: its session line has no `state` \
             snapshot, so it cannot be replayed faithfully; record the run again"
        )
    })?;
    if let Some(error) = &state.error {
        return Err(format!(
            "{shown}: no state snapshot: the recorded run could not read its alc.state \
             namespace {:?} ({error})",
            state.ns
        ));
    }
    Ok(state)
}

/// Says when the script to run is not the recorded one (allowed: edit and replay).
fn script_note(given: Option<&str>, rec: &Recording) -> Option<String> {
    use sha2::{Digest, Sha256};
    let spec = given.map_or_else(|| rec.script_spec(), ScriptSpec::parse);
    let ScriptSpec::File(path) = spec else {
        return None;
    };
    let text = std::fs::read(&path).ok()?;
    let sha = format!("{:x}", Sha256::digest(&text));
    (sha != rec.script_sha256).then(|| {
        format!(
            "note: {} differs from the recorded script (sha256 {} → {}): replaying up to the \
             first changed prompt",
            path.display(),
            rec.script_sha256.get(..12).unwrap_or(&rec.script_sha256),
            &sha[..12]
        )
    })
}

/// `--replay T [--until N]`: the recording, checked before the screen opens.
fn replay_start(args: &TuiArgs) -> Result<Option<ReplayStart>, InputError> {
    let Some(path) = &args.replay else {
        return Ok(None);
    };
    let shown = path.display();
    let recording = Recording::load(path).map_err(|e| InputError(e.to_string()))?;
    for warning in &recording.warnings {
        let _ = writeln!(std::io::stderr(), "{warning}");
    }
    replayable_state(&recording).map_err(InputError)?;
    if let Some(n) = args.until {
        let answers = recording.replies();
        if n > answers {
            return Err(InputError(format!(
                "--until {n} is beyond the recording: {shown} has {answers} answer{}",
                if answers == 1 { "" } else { "s" }
            )));
        }
    }
    if args.script.is_none() {
        if let ScriptSpec::File(p) = recording.script_spec() {
            if !p.is_file() {
                return Err(InputError(format!(
                    "the script {} recorded in {shown} is missing (a relative path is taken \
                     from the current directory); pass SCRIPT: alc-workbench --replay {shown} \
                     SCRIPT",
                    p.display()
                )));
            }
        }
    }
    let note = script_note(args.script.as_deref(), &recording);
    let mut start = ReplayStart::new(Arc::new(recording));
    start.until = args.until;
    start.note = note;
    Ok(Some(start))
}

pub(super) fn run(args: TuiArgs) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_INPUT;
        }
    };
    // Inside the runtime: `--answer-proc` starts its process here.
    let (opts, sandbox) = match rt.block_on(async { options(&args) }) {
        Ok(o) => o,
        Err(InputError(msg)) => {
            eprintln!("error: {msg}");
            return EXIT_INPUT;
        }
    };
    let ended = rt.block_on(run_tui(
        opts,
        starter(args.transcript.clone(), args.engine.clone(), sandbox),
    ));
    // Not a plain drop: that would wait for blocking tasks (a command answering a
    // query, a reader), and a strategy stuck in a C call must not hold the exit.
    rt.shutdown_background();
    match ended {
        Ok(TuiExit::Quit) => EXIT_OK,
        Ok(TuiExit::Signal(sig)) => (128 + sig).try_into().unwrap_or(u8::MAX),
        Err(e) => {
            // Not eprintln!: it panics when stderr is a terminal that went away.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            EXIT_INPUT
        }
    }
}

/// The TUI's options from the flags: the ctx, the answer source, the picker's offer.
/// The screen's options and the sandbox settings, from the flags and the config file
/// (read once here for the sandbox and the provider; the runtime reads the screen's own
/// settings, which it owns).
fn options(args: &TuiArgs) -> Result<(TuiOptions, SandboxSettings), InputError> {
    let ctx = args.ctx.build()?;
    let file_config = crate::config::Config::load(args.config.as_deref())
        .map_err(|e| InputError(e.to_string()))?;
    let sandbox = args.engine.sandbox(&file_config);
    if let Some(s) = &args.script {
        if let ScriptSpec::File(p) = ScriptSpec::parse(s) {
            if !p.is_file() {
                return Err(InputError(format!("script not found: {}", p.display())));
            }
        }
    }
    let (answer_source, prices): (Option<Arc<dyn AnswerSource>>, _) =
        match args.source.answerer(&file_config)? {
            Answerer::Scripted(source) => (Some(source), None),
            Answerer::Provider(provider) => (Some(provider.source), provider.config.prices),
            Answerer::Person => (None, None),
        };
    let replay = replay_start(args)?;
    let package_dirs = packages::search_dirs(None, &default_alc_home());
    let opts = TuiOptions {
        script: args.script.clone(),
        ctx,
        choices: super::catalog::choices(&package_dirs),
        theme: args.theme.clone(),
        config: args.config.clone(),
        transcript: args.transcript.clone(),
        recovery_dir: Some(data_dir().join("transcripts")),
        answer_source,
        package_dirs,
        provider_name: args.source.provider.clone(),
        prices,
        mode: args.mode.as_deref().and_then(Mode::parse),
        on_provider_error: OnProviderError::parse(&args.on_provider_error).unwrap_or_default(),
        replay,
        breakpoints: args.breakpoints.clone(),
    };
    Ok((opts, sandbox))
}
