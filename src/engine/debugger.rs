//! The debugger's vocabulary and its shared state: breakpoints, stops, step requests.
//!
//! This room is the meeting point between the threads that *command* the debugger
//! (a front end calling `Session` methods) and the VM threads that *stop* (the debug
//! hook in `lua/hook.rs`). A stopped VM blocks its own thread inside the hook and
//! waits on a channel registered here; every inspection (stack, locals, evaluate) is a
//! request sent over that channel and answered on the VM thread, because the Lua debug
//! API is only safe there. Nothing here touches Lua.
//!
//! Speed: the hook asks [`DebugShared::wants_lines`] on its count tick; while no
//! breakpoint is set and no pause is requested it keeps the VM on the cheap count hook
//! only (the one the cancel check needs anyway).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard};

use super::event::Site;

pub type BreakpointId = u64;
/// One stop of one VM: valid from its `Stopped` event until its `Resumed`.
pub type StopId = u64;
/// A table seen while stopped, to expand later (valid during that stop only).
pub type Handle = u64;

/// Why a VM stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Breakpoint(BreakpointId),
    Step,
    Pause,
}

impl StopReason {
    /// `breakpoint`, `step` or `pause`, as the status bar says it.
    pub fn label(&self) -> &'static str {
        match self {
            StopReason::Breakpoint(_) => "breakpoint",
            StopReason::Step => "step",
            StopReason::Pause => "pause",
        }
    }
}

/// One frame of a stopped VM's call stack; `level` 0 is where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub level: u32,
    /// The function's name as Lua knows it (`helper`, `main chunk`, `?`).
    pub function: String,
    /// The chunk without its `@` (`demo/s.lua`, `bundled/cot/init.lua`, `[C]`, `alc:core`).
    pub file: String,
    pub line: Option<u32>,
    /// A C function or one of the workbench's own chunks (`alc:core`, `alc:prelude`).
    pub internal: bool,
}

/// A variable (or a table entry, or an expression's value) as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    /// Lua's type name (`number`, `string`, `table`, …; `null` for the JSON null).
    pub kind: String,
    /// The value as text: strings quoted (and cut to the asked length, saying so),
    /// tables summarised (`table (3 entries)`).
    pub value: String,
    /// Set for a table: pass it to `Session::debug_expand` to see its entries.
    pub handle: Option<Handle>,
}

/// Which variables of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Locals,
    Upvalues,
}

/// How a stopped VM goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeMode {
    Continue,
    /// To the next line of this function (or of its caller once it returns).
    StepOver,
    /// To the next line run anywhere (into a called function, in any user file).
    StepInto,
    /// Until this function returns, to the next line of its caller.
    StepOut,
}

/// Where a breakpoint stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakpointState {
    /// No loaded file matches it yet.
    Pending,
    /// Bound to a loaded file; `line` differs from the asked line when that one had
    /// no code (moved to the next line that has).
    Bound { file: String, line: u32 },
    /// A matching file was loaded, but it has no code at or after the asked line.
    NoCode { file: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakpointInfo {
    pub id: BreakpointId,
    /// As given: matched as a path suffix of the chunk (`s.lua`, `cot/init.lua`).
    pub file: String,
    pub line: u32,
    pub condition: Option<String>,
    pub state: BreakpointState,
}

/// What the debugger tells the session's event stream.
#[derive(Debug, Clone, PartialEq)]
pub enum DebugEvent {
    /// A VM stopped; it waits for `Session::debug_resume`. Inspect it meanwhile.
    Stopped {
        stop: StopId,
        reason: StopReason,
        site: Site,
        /// The fork child's package name when an `alc.fork` child stopped.
        fork: Option<String>,
        /// It stopped inside a coroutine (the stack shown is the coroutine's).
        in_coroutine: bool,
        /// A conditional breakpoint whose condition failed to evaluate stops anyway,
        /// with the error here.
        condition_error: Option<String>,
        frames: Vec<Frame>,
    },
    /// The stopped VM goes on.
    Resumed { stop: StopId },
    /// A breakpoint was bound to a file that was loaded; `line != requested` means it
    /// was moved to the next line with code.
    BreakpointBound {
        id: BreakpointId,
        file: String,
        requested: u32,
        line: u32,
    },
    /// A file matching the breakpoint was loaded, but has no code at or after its line.
    BreakpointNoCode {
        id: BreakpointId,
        file: String,
        line: u32,
    },
}

/// Errors of the debugger commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DebugError {
    #[error("invalid breakpoint: {0}")]
    InvalidBreakpoint(String),
    #[error("no breakpoint {0}")]
    UnknownBreakpoint(BreakpointId),
    #[error("stop {0} is over (the strategy went on, or never stopped there)")]
    NotStopped(StopId),
    #[error("no frame {0} in the stopped stack")]
    NoFrame(u32),
    #[error("no table handle {0} in this stop (handles last one stop)")]
    UnknownHandle(Handle),
    /// The expression did not compile or failed when run; the strategy stays stopped.
    #[error("{0}")]
    Eval(String),
}

/// A request a stopped VM answers on its own thread.
pub(crate) enum StopRequest {
    Stack(mpsc::Sender<Vec<Frame>>),
    Variables {
        frame: u32,
        scope: Scope,
        max_len: Option<usize>,
        reply: mpsc::Sender<Result<Vec<Variable>, DebugError>>,
    },
    Expand {
        handle: Handle,
        max_len: Option<usize>,
        reply: mpsc::Sender<Result<Vec<Variable>, DebugError>>,
    },
    Evaluate {
        frame: u32,
        expr: String,
        max_len: Option<usize>,
        reply: mpsc::Sender<Result<Variable, DebugError>>,
    },
    Resume(ResumeMode),
    /// The session was cancelled: unwind.
    Cancel,
}

/// A breakpoint bound in one file: (line, id, condition).
pub(crate) type Bound = (u32, BreakpointId, Option<String>);

pub(crate) struct BreakpointEntry {
    pub id: BreakpointId,
    pub file: String,
    pub line: u32,
    pub condition: Option<String>,
    /// chunk path → bound line (None: no code there).
    pub bound: HashMap<String, Option<u32>>,
}

/// Does the breakpoint's `file` name the chunk `path`? A path suffix, on a component
/// boundary: `s.lua` matches `demo/s.lua` but not `demos.lua`.
pub(crate) fn file_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_start_matches("./");
    match path.strip_suffix(pattern) {
        Some("") => true,
        Some(rest) => rest.ends_with('/'),
        None => false,
    }
}

/// The debugger state of one session, shared by its VMs and its command callers.
pub(crate) struct DebugShared {
    breakpoints: Mutex<Vec<BreakpointEntry>>,
    /// Changes whenever breakpoints do, so VMs drop what they cached.
    generation: AtomicU64,
    has_breakpoints: AtomicBool,
    pause_requested: AtomicBool,
    stops: Mutex<HashMap<StopId, mpsc::Sender<StopRequest>>>,
    next_id: AtomicU64,
    /// Chunk texts not on disk (an inline script), by chunk path.
    sources: Mutex<HashMap<String, String>>,
    /// Active lines per chunk path, computed once.
    active_lines: Mutex<HashMap<String, Option<Vec<u32>>>>,
    cancelled: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DebugShared {
    pub fn new() -> Self {
        DebugShared {
            breakpoints: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            has_breakpoints: AtomicBool::new(false),
            pause_requested: AtomicBool::new(false),
            stops: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            sources: Mutex::new(HashMap::new()),
            active_lines: Mutex::new(HashMap::new()),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Whether VMs need line events (a breakpoint set, or a pause asked for). A VM
    /// that steps needs them too; it knows that itself.
    #[inline]
    pub fn wants_lines(&self) -> bool {
        self.has_breakpoints.load(Ordering::Relaxed) || self.pause_requested.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn has_breakpoints(&self) -> bool {
        self.has_breakpoints.load(Ordering::Relaxed)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn next(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn add_breakpoint(
        &self,
        file: &str,
        line: u32,
        condition: Option<String>,
    ) -> Result<BreakpointId, DebugError> {
        let file = file.trim();
        if file.is_empty() {
            return Err(DebugError::InvalidBreakpoint("empty file name".into()));
        }
        if line == 0 {
            return Err(DebugError::InvalidBreakpoint(format!(
                "{file}:0: lines count from 1"
            )));
        }
        let condition = condition.filter(|c| !c.trim().is_empty());
        if let Some(c) = &condition {
            check_syntax(c).map_err(|e| {
                DebugError::InvalidBreakpoint(format!("{file}:{line}: condition: {e}"))
            })?;
        }
        let id = self.next();
        let mut bps = lock(&self.breakpoints);
        bps.push(BreakpointEntry {
            id,
            file: file.to_string(),
            line,
            condition,
            bound: HashMap::new(),
        });
        self.has_breakpoints.store(true, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(id)
    }

    pub fn remove_breakpoint(&self, id: BreakpointId) -> Result<(), DebugError> {
        let mut bps = lock(&self.breakpoints);
        let before = bps.len();
        bps.retain(|b| b.id != id);
        if bps.len() == before {
            return Err(DebugError::UnknownBreakpoint(id));
        }
        self.has_breakpoints
            .store(!bps.is_empty(), Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    pub fn breakpoints(&self) -> Vec<BreakpointInfo> {
        lock(&self.breakpoints)
            .iter()
            .map(|b| {
                // The first file bound wins the summary (usually there is one).
                let mut bound: Vec<_> = b.bound.iter().collect();
                bound.sort();
                let state = match bound.first() {
                    None => BreakpointState::Pending,
                    Some((f, Some(l))) => BreakpointState::Bound {
                        file: (*f).clone(),
                        line: *l,
                    },
                    Some((f, None)) => BreakpointState::NoCode { file: (*f).clone() },
                };
                BreakpointInfo {
                    id: b.id,
                    file: b.file.clone(),
                    line: b.line,
                    condition: b.condition.clone(),
                    state,
                }
            })
            .collect()
    }

    /// Binds every breakpoint naming `path` (using its active lines) and returns the
    /// bound ones as (line, id, condition), plus the events for first bindings.
    pub fn bind_file(&self, path: &str, active: Option<&[u32]>) -> (Vec<Bound>, Vec<DebugEvent>) {
        let mut bound = Vec::new();
        let mut events = Vec::new();
        for b in lock(&self.breakpoints).iter_mut() {
            if !file_matches(&b.file, path) {
                continue;
            }
            let line = match active {
                // Without line facts (text unavailable), trust the line as given.
                None => Some(b.line),
                Some(lines) => lines.iter().copied().find(|&l| l >= b.line),
            };
            if !b.bound.contains_key(path) {
                b.bound.insert(path.to_string(), line);
                events.push(match line {
                    Some(l) => DebugEvent::BreakpointBound {
                        id: b.id,
                        file: path.to_string(),
                        requested: b.line,
                        line: l,
                    },
                    None => DebugEvent::BreakpointNoCode {
                        id: b.id,
                        file: path.to_string(),
                        line: b.line,
                    },
                });
            }
            if let Some(l) = line {
                bound.push((l, b.id, b.condition.clone()));
            }
        }
        (bound, events)
    }

    pub fn register_source(&self, path: &str, text: &str) {
        lock(&self.sources).insert(path.to_string(), text.to_string());
    }

    pub fn source_text(&self, path: &str) -> Option<String> {
        if let Some(t) = lock(&self.sources).get(path) {
            return Some(t.clone());
        }
        if let Some(rel) = path.strip_prefix("bundled/") {
            return super::packages::BUNDLED
                .iter()
                .find(|(_, r, _)| *r == rel)
                .map(|(_, _, t)| t.to_string());
        }
        std::fs::read(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    pub fn cached_active_lines(&self, path: &str) -> Option<Option<Vec<u32>>> {
        lock(&self.active_lines).get(path).cloned()
    }

    pub fn cache_active_lines(&self, path: &str, lines: Option<Vec<u32>>) {
        lock(&self.active_lines).insert(path.to_string(), lines);
    }

    pub fn request_pause(&self) {
        self.pause_requested.store(true, Ordering::Release);
    }

    /// Takes a pending pause request (the first VM to reach a line gets it).
    pub fn take_pause(&self) -> bool {
        self.pause_requested.load(Ordering::Relaxed)
            && self.pause_requested.swap(false, Ordering::AcqRel)
    }

    /// Registers a stop; refused once the session is cancelled (checked under the
    /// same lock `cancel_all` takes, so no stop can slip in after it).
    pub fn register_stop(&self, tx: mpsc::Sender<StopRequest>) -> Option<StopId> {
        let mut stops = lock(&self.stops);
        if self.cancelled.load(Ordering::Acquire) {
            return None;
        }
        let id = self.next();
        stops.insert(id, tx);
        Some(id)
    }

    pub fn end_stop(&self, stop: StopId) {
        lock(&self.stops).remove(&stop);
    }

    pub fn stopped(&self) -> Vec<StopId> {
        let mut v: Vec<_> = lock(&self.stops).keys().copied().collect();
        v.sort_unstable();
        v
    }

    pub fn send(&self, stop: StopId, req: StopRequest) -> Result<(), DebugError> {
        let stops = lock(&self.stops);
        let tx = stops.get(&stop).ok_or(DebugError::NotStopped(stop))?;
        tx.send(req).map_err(|_| DebugError::NotStopped(stop))
    }

    /// Wakes every stopped VM to unwind: the session is being cancelled.
    pub fn cancel_all(&self) {
        let mut stops = lock(&self.stops);
        self.cancelled.store(true, Ordering::Release);
        for (_, tx) in stops.drain() {
            let _ = tx.send(StopRequest::Cancel);
        }
    }
}

/// Compiles `return <expr>` in a scratch VM: a condition with a syntax error is
/// refused when set, not when first hit.
fn check_syntax(expr: &str) -> Result<(), String> {
    let lua = mlua::Lua::new();
    lua.load(format!("return {expr}"))
        .set_name("=condition")
        .into_function()
        .map(|_| ())
        .map_err(|e| super::lua::errors::message_of(&e))
}

/// The set of lines of a breakpoint list, for a quick "any breakpoint here?" test.
pub(crate) fn lines_of(bound: &[Bound]) -> HashSet<u32> {
    bound.iter().map(|(l, _, _)| *l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_patterns_match_path_suffixes_on_component_boundaries() {
        assert!(file_matches("s.lua", "s.lua"));
        assert!(file_matches("s.lua", "demo/s.lua"));
        assert!(file_matches("cot/init.lua", "bundled/cot/init.lua"));
        assert!(file_matches("./demo/s.lua", "demo/s.lua"));
        assert!(!file_matches("s.lua", "demos.lua"));
        assert!(!file_matches("init.lua", "bundled/cot/xinit.lua"));
    }

    #[test]
    fn bad_breakpoints_are_refused_with_the_reason() {
        let d = DebugShared::new();
        assert!(matches!(
            d.add_breakpoint("s.lua", 0, None),
            Err(DebugError::InvalidBreakpoint(m)) if m.contains("s.lua:0")
        ));
        assert!(d.add_breakpoint(" ", 3, None).is_err());
        let err = d
            .add_breakpoint("s.lua", 3, Some("x ==".into()))
            .unwrap_err();
        assert!(err.to_string().contains("s.lua:3: condition"), "{err}");
        assert!(!d.wants_lines());
        let id = d.add_breakpoint("s.lua", 3, Some("x == 1".into())).unwrap();
        assert!(d.wants_lines());
        assert_eq!(d.breakpoints()[0].state, BreakpointState::Pending);
        d.remove_breakpoint(id).unwrap();
        assert!(!d.wants_lines());
        assert_eq!(
            d.remove_breakpoint(id),
            Err(DebugError::UnknownBreakpoint(id))
        );
    }

    #[test]
    fn binding_moves_a_line_without_code_and_says_so() {
        let d = DebugShared::new();
        let id = d.add_breakpoint("s.lua", 4, None).unwrap();
        let (bound, events) = d.bind_file("demo/s.lua", Some(&[1, 2, 6, 9]));
        assert_eq!(bound, vec![(6, id, None)]);
        assert_eq!(
            events,
            vec![DebugEvent::BreakpointBound {
                id,
                file: "demo/s.lua".into(),
                requested: 4,
                line: 6
            }]
        );
        // Bound once: no second event.
        assert!(d.bind_file("demo/s.lua", Some(&[1, 2, 6, 9])).1.is_empty());
        let late = d.add_breakpoint("s.lua", 10, None).unwrap();
        let (bound, events) = d.bind_file("demo/s.lua", Some(&[1, 2, 6, 9]));
        assert_eq!(bound.len(), 1);
        assert!(matches!(&events[..], [DebugEvent::BreakpointNoCode { id, .. }] if *id == late));
    }
}
