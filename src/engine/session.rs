//! The `Session` handle: start a strategy, read its events, answer, fail, cancel.
//!
//! `Session::start` validates everything it can before any Lua runs (script found,
//! ctx an object, budget well-formed, transcript writable) so bad input is an
//! [`EngineError`]; from then on every outcome, including Lua syntax errors, arrives
//! as events, ending with exactly one `Finished`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlua_isle::Isle;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::budget::Budget;
use super::core::{SessionCore, VmSettings};
use super::error::{json_type_name, EngineError};
use super::event::{Answer, Lineage, Metrics, Outcome, ScriptError, SessionEvent, Stamped, Status};
use super::lua::{self, Chunk, VmContext};
use super::packages;
use super::replay::snapshot_state;
use super::transcript::TranscriptWriter;

/// The ordered event stream of one session.
pub type EventStream = mpsc::UnboundedReceiver<Stamped>;

/// How long a cancel may take before the strategy counts as stuck. The cancel hook
/// stops Lua code within microseconds; only a C function (a catastrophic `string.find`
/// pattern) can hold it off longer.
pub const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// What to tell the person when a cancel did not take within [`CANCEL_GRACE`].
pub const STUCK_IN_C: &str = "strategy is stuck in a C call (string.find?)";

/// The error of a session ended by [`Session::abandon`].
pub const ABANDONED: &str = "cancelled (the workbench stopped waiting for the strategy: one \
     inside a C function such as string.find cannot be interrupted)";

/// Default Lua memory limit per VM.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 * 1024 * 1024;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptSpec {
    File(PathBuf),
    Package(String),
    Inline { name: String, code: String },
}

impl ScriptSpec {
    /// A `.lua` path (or any existing file) is a file; anything else a package name.
    pub fn parse(arg: &str) -> ScriptSpec {
        let p = Path::new(arg);
        if arg.ends_with(".lua") || arg.contains('/') || p.is_file() {
            ScriptSpec::File(p.to_path_buf())
        } else {
            ScriptSpec::Package(arg.to_string())
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub script: ScriptSpec,
    /// The session's ctx (a JSON object); `ctx.budget` sets the budget.
    pub ctx: Value,
    /// Seed for `math.random`; a fresh one is drawn (and recorded) when `None`.
    pub seed: Option<u64>,
    pub transcript: Option<PathBuf>,
    pub memory_limit: usize,
    /// `$ALC_HOME` (default `~/.algocline`): packages and `state/` live here.
    pub alc_home: PathBuf,
    /// Where `alc.state` keeps its namespaces; `None`: `$ALC_HOME/state`. A replay
    /// points it at a scratch copy so the real state is never touched.
    pub state_dir: Option<PathBuf>,
    /// The transcript this run replays or branches from (recorded on `session`).
    pub lineage: Lineage,
    /// Lets the strategy run processes (`io.popen`, `os.execute`): `--allow-exec`.
    pub allow_exec: bool,
    /// Variable names `os.getenv` hides besides the built-in secret patterns: the
    /// providers' `api_key_env` names of the config in force.
    pub secret_env: Vec<String>,
    /// Extra set-up of the root VM for embedders and tests (a test framework's
    /// globals), run after all three layers and before the chunk. Never set by the
    /// workbench itself.
    pub root_vm_setup: Option<RootVmSetup>,
    /// Breakpoints set before the first line runs (`--break FILE:LINE`); each is
    /// checked as `Session::set_breakpoint` would, a bad one refuses the start.
    pub breakpoints: Vec<BreakpointSpec>,
    /// Answers some queries on the VM thread without the driver (a headless replay;
    /// see `engine::instant`). The driver must skip what it answered.
    pub instant_answers: Option<super::instant::InstantHook>,
}

/// A breakpoint to set at start: `file` matched as a path suffix, an optional condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakpointSpec {
    pub file: String,
    pub line: u32,
    pub condition: Option<String>,
}

/// A function that sets up a VM further (see [`SessionConfig::root_vm_setup`]).
pub type VmSetupFn = dyn Fn(&mlua::Lua) -> mlua::Result<()> + Send + Sync;

/// See [`SessionConfig::root_vm_setup`].
#[derive(Clone)]
pub struct RootVmSetup(pub Arc<VmSetupFn>);

impl std::fmt::Debug for RootVmSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootVmSetup(..)")
    }
}

impl SessionConfig {
    pub fn new(script: ScriptSpec) -> Self {
        SessionConfig {
            script,
            ctx: Value::Object(Default::default()),
            seed: None,
            transcript: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            alc_home: default_alc_home(),
            state_dir: None,
            lineage: Lineage::default(),
            allow_exec: false,
            secret_env: Vec::new(),
            root_vm_setup: None,
            breakpoints: Vec::new(),
            instant_answers: None,
        }
    }
}

pub fn default_alc_home() -> PathBuf {
    if let Some(h) = std::env::var_os("ALC_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".algocline")
}

/// Script text and where it came from, for the Source pane.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptInfo {
    /// As shown in messages and as `script` in the transcript.
    pub display: String,
    /// The file that holds the entry code (None for bundled packages).
    pub path: Option<PathBuf>,
    pub text: String,
}

/// A running (or finished) session. Cheap to clone; the last handle dropped cancels it.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    core: Arc<SessionCore>,
    info: ScriptInfo,
    /// The root VM's handle until the run ends; the run's last act drops it so the
    /// VM thread exits and its Lua state (all its memory) goes at once, even while
    /// this handle is kept to show the finished session.
    _isle: Arc<Mutex<Option<Isle>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Nobody can answer any more: wake a waiting VM so its thread can exit.
        self.core.cancel();
    }
}

fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Mix in the pid so two sessions started in the same nanosecond differ.
    (t ^ ((std::process::id() as u64) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11
}

fn resolve(
    spec: &ScriptSpec,
    alc_home: &Path,
) -> Result<(ScriptInfo, Chunk, Vec<PathBuf>), EngineError> {
    match spec {
        ScriptSpec::File(path) => {
            if !path.is_file() {
                return Err(EngineError::ScriptNotFound(path.clone()));
            }
            let code = std::fs::read(path).map_err(|source| EngineError::Read {
                path: path.clone(),
                source,
            })?;
            let display = path.display().to_string();
            let dirs = packages::search_dirs(
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .or(Some(Path::new("."))),
                alc_home,
            );
            let info = ScriptInfo {
                display: display.clone(),
                path: Some(path.clone()),
                text: String::from_utf8_lossy(&code).into_owned(),
            };
            Ok((
                info,
                Chunk::File {
                    name: display,
                    code,
                },
                dirs,
            ))
        }
        ScriptSpec::Package(name) => {
            if !packages::is_valid_name(name) {
                return Err(EngineError::InvalidPackageName(name.clone()));
            }
            let dirs = packages::search_dirs(None, alc_home);
            let found =
                packages::find(name, &dirs).ok_or_else(|| EngineError::PackageNotFound {
                    name: name.clone(),
                    searched: dirs
                        .iter()
                        .map(|d| d.display().to_string())
                        .chain(["bundled".to_string()])
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            let info = ScriptInfo {
                display: found.display,
                path: found.path,
                text: found.text,
            };
            Ok((info, Chunk::Package(name.clone()), dirs))
        }
        ScriptSpec::Inline { name, code } => {
            let dirs = packages::search_dirs(None, alc_home);
            let info = ScriptInfo {
                display: name.clone(),
                path: None,
                text: code.clone(),
            };
            Ok((
                info,
                Chunk::Inline {
                    name: name.clone(),
                    code: code.clone(),
                },
                dirs,
            ))
        }
    }
}

impl Session {
    /// Starts a session, writing its transcript to `config.transcript` if set.
    pub fn start(config: SessionConfig) -> Result<(Session, EventStream), EngineError> {
        Self::start_inner(config, None)
    }

    /// Starts a session that records into `writer` (a transcript over any sink;
    /// `config.transcript` is not used).
    pub fn start_with_transcript(
        config: SessionConfig,
        writer: TranscriptWriter,
    ) -> Result<(Session, EventStream), EngineError> {
        Self::start_inner(config, Some(writer))
    }

    fn start_inner(
        config: SessionConfig,
        given: Option<TranscriptWriter>,
    ) -> Result<(Session, EventStream), EngineError> {
        let SessionConfig {
            script,
            ctx,
            seed,
            transcript,
            memory_limit,
            alc_home,
            state_dir,
            lineage,
            allow_exec,
            secret_env,
            root_vm_setup,
            breakpoints,
            instant_answers,
        } = config;
        if !ctx.is_object() {
            return Err(EngineError::CtxNotObject(json_type_name(&ctx)));
        }
        let budget = Budget::from_ctx(&ctx)?;
        // Checked before anything is created (the transcript file included).
        let check = super::debugger::DebugShared::new();
        for b in &breakpoints {
            check.add_breakpoint(&b.file, b.line, b.condition.clone())?;
        }
        let (info, chunk, package_dirs) = resolve(&script, &alc_home)?;
        let writer = match (given, &transcript) {
            (Some(w), _) => Some(w),
            (None, Some(p)) => Some(TranscriptWriter::create(p).map_err(EngineError::Transcript)?),
            (None, None) => None,
        };
        let seed = seed.unwrap_or_else(fresh_seed);
        let state_dir = state_dir.unwrap_or_else(|| alc_home.join("state"));
        let state = snapshot_state(&state_dir, &ctx);
        let (tx, rx) = mpsc::unbounded_channel();
        let settings = VmSettings {
            state_dir,
            memory_limit,
            allow_exec,
            secret_env,
        };
        let mut core = SessionCore::new(budget, settings, tx, writer);
        core.instant = instant_answers.map(|hook| hook.0);
        let core = Arc::new(core);
        // The debugger binds breakpoints from a chunk's text; an inline one has no file.
        core.debugger.register_source(&info.display, &info.text);
        for b in breakpoints {
            core.debugger
                .add_breakpoint(&b.file, b.line, b.condition)
                .map_err(EngineError::Debug)?;
        }
        core.emit(SessionEvent::Started {
            script: info.display.clone(),
            script_sha256: format!("{:x}", Sha256::digest(info.text.as_bytes())),
            ctx: ctx.clone(),
            seed,
            package: match &script {
                ScriptSpec::Package(name) => Some(name.clone()),
                _ => None,
            },
            state: Box::new(state),
            lineage: Box::new(lineage),
        });
        let vm = Arc::new(VmContext {
            core: core.clone(),
            fork: None,
            seed,
            ctx,
            package_dirs,
        });
        let for_setup = vm.clone();
        let isle = Isle::spawn(move |lua| {
            lua::setup(lua, for_setup)?;
            match &root_vm_setup {
                Some(extra) => (extra.0)(lua),
                None => Ok(()),
            }
        })
        .map_err(|e| EngineError::Vm(e.to_string()))?;
        let slot = Arc::new(Mutex::new(Some(isle)));
        let runner = vm.clone();
        let own_slot = slot.clone();
        {
            // Held while the run is queued, so the run cannot end (and look for its
            // handle) before the handle is in the slot.
            let guard = slot.lock().unwrap_or_else(|e| e.into_inner());
            let isle = guard.as_ref().expect("just stored");
            // The task's own result is not needed: the outcome travels as `Finished`.
            let _task = isle.spawn_exec(move |lua| {
                let outcome = lua::run_root(lua, &runner, chunk);
                // A no-op when the session was abandoned meanwhile: one `end` only.
                runner.core.finish(outcome);
                // Dropping the handle asks the VM thread to stop after this task.
                drop(own_slot.lock().unwrap_or_else(|e| e.into_inner()).take());
                Ok(String::new())
            });
        }
        let session = Session {
            inner: Arc::new(Inner {
                core,
                info,
                _isle: slot,
            }),
        };
        Ok((session, rx))
    }

    /// Answers a pending query. The answer is in the transcript, written and synced,
    /// before the strategy resumes. If the transcript cannot take it, this returns
    /// [`EngineError::TranscriptWrite`], the query stays pending and the strategy
    /// waits: answer again (retry), [`Self::redirect_transcript`], or
    /// [`Self::stop_recording`]. Blocks on the disk: call it off any UI thread.
    pub fn answer(&self, id: &str, answer: Answer) -> Result<(), EngineError> {
        self.inner.core.answer(id, answer)
    }

    /// Fails a pending query: the strategy's `alc.llm` raises `error`. Recorded like
    /// an answer (see [`Self::answer`]).
    pub fn fail(&self, id: &str, error: &str) -> Result<(), EngineError> {
        self.inner.core.fail(id, error)
    }

    /// Tells the session that the pending query `id` is now ready for a person: shown
    /// for them to type an answer, a draft complete for them to review, or a failed
    /// query handed back to them. From now until it is answered (or failed), the time
    /// is the person's: counted in `human_ms`, never charged to `max_elapsed_ms`.
    /// Calling it again for the same query changes nothing.
    pub fn person_ready(&self, id: &str) -> Result<(), EngineError> {
        self.inner.core.person_ready(id)
    }

    /// The pending query `id` is no longer waiting for a person (handed back to a
    /// model): their time on it ends here; `person_ready` starts it again.
    pub fn person_away(&self, id: &str) {
        self.inner.core.person_away(id)
    }

    /// Writes the whole transcript so far to `path` (created or truncated), synced,
    /// and records there from now on. On error the transcript stays where it was.
    pub fn redirect_transcript(&self, path: &Path) -> Result<(), EngineError> {
        self.inner.core.redirect_transcript(path)
    }

    /// Goes on without a transcript: later answers are acknowledged unrecorded. The
    /// choice is an event on the stream (a `warn` log naming the file and `reason`).
    pub fn stop_recording(&self, reason: &str) {
        self.inner.core.stop_recording(reason)
    }

    /// Where the transcript is being written (None: not recording).
    pub fn transcript_path(&self) -> Option<PathBuf> {
        self.inner.core.transcript_path()
    }

    /// The write failure keeping lines out of the transcript file, if any (at the end
    /// of a session: the transcript is incomplete).
    pub fn transcript_failure(&self) -> Option<String> {
        self.inner.core.transcript_failure()
    }

    /// Stops the strategy, even inside `while true do end`.
    pub fn cancel(&self) {
        self.inner.core.cancel();
    }

    /// Ends the session now, without waiting for its VM: cancels it, then records
    /// `end` with status `cancelled` unless the strategy already finished. For a
    /// strategy that does not stop because it is inside a C function (a catastrophic
    /// `string.find` pattern), where the cancel hook cannot reach it. The VM thread is
    /// left behind; whatever it does later is not recorded (`end` stays the last line).
    /// Returns whether this call wrote the `end`.
    pub fn abandon(&self) -> bool {
        let core = &self.inner.core;
        core.cancel();
        if core.is_finished() {
            return false;
        }
        core.finish(Outcome {
            status: Status::Cancelled,
            result: None,
            error: Some(ScriptError {
                message: ABANDONED.into(),
                site: None,
                traceback: None,
            }),
            metrics: core.metrics(),
        })
    }

    pub fn metrics(&self) -> Metrics {
        self.inner.core.metrics()
    }

    pub fn budget(&self) -> Budget {
        self.inner.core.budget
    }

    pub fn script(&self) -> &ScriptInfo {
        &self.inner.info
    }

    pub fn is_finished(&self) -> bool {
        self.inner.core.is_finished()
    }

    /// The shared core (for the debugger commands in `debug_api.rs`).
    pub(crate) fn core(&self) -> &Arc<SessionCore> {
        &self.inner.core
    }

    /// Waits until every Lua VM of this session (root and fork children) has been
    /// dropped, which happens right after the run ends; false on timeout.
    pub fn wait_vms_closed(&self, timeout: Duration) -> bool {
        self.inner.core.wait_vms_closed(timeout)
    }
}
