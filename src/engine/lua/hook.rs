//! The one debug hook of a VM: the cancel check and the debugger share it.
//!
//! Two speeds. Normally the hook fires every [`HOOK_INTERVAL`] instructions only, to
//! look at the cancel flag. When the debugger needs lines (a breakpoint set, a pause
//! asked for, a step under way) the running thread's hook mask gains line events; the
//! switch happens on the next count tick (or right after an `alc.llm` pause, see
//! [`sync`]), and back again once nothing needs lines. The mask is per Lua thread: a
//! coroutine inherits it from the thread that creates it, and switches on its own ticks.
//!
//! A stop blocks the VM thread inside the hook (like `alc.llm` does) and serves the
//! requests of `debugger::StopRequest` until told to go on or to cancel.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};

use mlua::{ffi, DebugEvent as LuaEvent, HookTriggers, Lua, Thread, VmState};

use super::{activelines, errors, inspect, VmContext};
use crate::engine::core::SessionCore;
use crate::engine::debugger::{
    lines_of, Bound, DebugEvent, DebugShared, ResumeMode, StopReason, StopRequest,
};
use crate::engine::event::{SessionEvent, Site};

/// How often (in VM instructions) the hook checks for cancellation: quick enough that
/// `while true do end` stops within microseconds. (Any count hook makes Lua 5.4 trace
/// every instruction, so a larger interval would not run faster; see the README.)
pub(crate) const HOOK_INTERVAL: i32 = 1000;

/// A step under way on this VM.
struct Step {
    mode: ResumeMode,
    /// The Lua thread it started on (kept alive so its pointer stays valid).
    thread: Thread,
    depth: usize,
}

/// Breakpoints bound to one file, as this VM sees them.
struct FileBreakpoints {
    lines: HashSet<u32>,
    list: Vec<Bound>,
}

/// What one VM's hook remembers between calls. Only its own thread touches it.
#[derive(Default)]
struct Local {
    step: Option<Step>,
    generation: u64,
    files: HashMap<String, FileBreakpoints>,
}

fn cancel_error() -> mlua::Error {
    mlua::Error::runtime(errors::CANCEL_SENTINEL)
}

fn mask(lines: bool) -> i32 {
    if lines {
        ffi::LUA_MASKCOUNT | ffi::LUA_MASKLINE
    } else {
        ffi::LUA_MASKCOUNT
    }
}

/// Gives the running Lua thread line events, or takes them away, keeping the hook.
fn set_lines(lua: &Lua, lines: bool) {
    lua.exec_raw_lua(|raw| unsafe {
        let l = raw.state();
        let has = ffi::lua_gethookmask(l) & ffi::LUA_MASKLINE != 0;
        if has != lines {
            let hook = ffi::lua_gethook(l);
            if hook.is_some() {
                ffi::lua_sethook(l, hook, mask(lines), HOOK_INTERVAL);
            }
        }
    })
}

/// Brings the running thread's mask up to date now: called when a VM comes back from
/// an `alc.llm` pause, so a breakpoint set (or a pause asked for) meanwhile applies
/// from the very next line.
pub(crate) fn sync(lua: &Lua, debugger: &DebugShared) {
    if debugger.wants_lines() {
        set_lines(lua, true);
    }
}

/// Installs the hook on every thread of the VM (coroutines inherit it).
pub(crate) fn install(lua: &Lua, vm: &VmContext) -> mlua::Result<()> {
    let flag = vm.core.cancel_flag();
    let core = vm.core.clone();
    let fork = vm.fork.clone();
    let local = Mutex::new(Local::default());
    let triggers = if core.debugger.wants_lines() {
        HookTriggers::EVERY_LINE.every_nth_instruction(HOOK_INTERVAL as u32)
    } else {
        HookTriggers::new().every_nth_instruction(HOOK_INTERVAL as u32)
    };
    lua.set_global_hook(triggers, move |lua, debug| {
        if flag.load(Ordering::Relaxed) {
            return Err(cancel_error());
        }
        let mut local = local.lock().unwrap_or_else(|e| e.into_inner());
        let lines = core.debugger.wants_lines() || local.step.is_some();
        if lines && debug.event() == LuaEvent::Line {
            let line = debug.current_line().unwrap_or(0) as u32;
            let source = debug.source();
            return match source.source.as_deref().and_then(|s| s.strip_prefix('@')) {
                Some(path) if errors::is_user_file(path) => {
                    on_line(lua, &core, fork.as_deref(), &mut local, path, line)
                }
                _ => Ok(VmState::Continue),
            };
        }
        set_lines(lua, lines);
        Ok(VmState::Continue)
    })
}

/// The breakpoints of `path`, bound on first sight (moving lines without code).
fn bound_in<'a>(
    lua: &Lua,
    core: &SessionCore,
    local: &'a mut Local,
    path: &str,
) -> &'a FileBreakpoints {
    let dbg = &core.debugger;
    let generation = dbg.generation();
    if generation != local.generation {
        local.files.clear();
        local.generation = generation;
    }
    if !local.files.contains_key(path) {
        let active = dbg.cached_active_lines(path).unwrap_or_else(|| {
            let lines = dbg
                .source_text(path)
                .and_then(|text| activelines::active_lines(lua, path, &text));
            dbg.cache_active_lines(path, lines.clone());
            lines
        });
        let (list, events) = dbg.bind_file(path, active.as_deref());
        for ev in events {
            core.emit(SessionEvent::Debug(ev));
        }
        let lines = lines_of(&list);
        local
            .files
            .insert(path.to_string(), FileBreakpoints { lines, list });
    }
    &local.files[path]
}

/// Is the thread a step started on now outside the running one (it yielded or
/// finished), so that stepping over or out of it should stop here?
fn left(step: &Step) -> bool {
    // Resumable covers both "yielded" (left) and "resumed another" (still inside),
    // so ask Lua: yielded, or no frame left (finished).
    !matches!(step.thread.status(), mlua::ThreadStatus::Running)
        && unsafe {
            let l = step.thread.state();
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            ffi::lua_status(l) == ffi::LUA_YIELD || ffi::lua_getstack(l, 0, &mut ar) == 0
        }
}

fn step_stops(lua: &Lua, step: &Step) -> bool {
    let same = lua.current_thread() == step.thread;
    match step.mode {
        ResumeMode::StepInto => true,
        ResumeMode::StepOver if same => inspect::depth(lua) <= step.depth,
        ResumeMode::StepOut if same => inspect::depth(lua) < step.depth,
        ResumeMode::StepOver | ResumeMode::StepOut => left(step),
        ResumeMode::Continue => false,
    }
}

fn on_line(
    lua: &Lua,
    core: &Arc<SessionCore>,
    fork: Option<&str>,
    local: &mut Local,
    path: &str,
    line: u32,
) -> mlua::Result<VmState> {
    let dbg = &core.debugger;
    let mut reason = None;
    let mut condition_error = None;
    if dbg.has_breakpoints() {
        let file = bound_in(lua, core, local, path);
        if file.lines.contains(&line) {
            let here: Vec<_> = file.list.iter().filter(|b| b.0 == line).cloned().collect();
            for (_, id, condition) in here {
                match condition.map(|c| inspect::condition_holds(lua, &c)) {
                    None | Some(Ok(true)) => reason = Some(StopReason::Breakpoint(id)),
                    Some(Ok(false)) => continue,
                    Some(Err(e)) => {
                        reason = Some(StopReason::Breakpoint(id));
                        condition_error = Some(e);
                    }
                }
                break;
            }
        }
    }
    if reason.is_none() && local.step.as_ref().is_some_and(|s| step_stops(lua, s)) {
        reason = Some(StopReason::Step);
    }
    if reason.is_none() && dbg.take_pause() {
        reason = Some(StopReason::Pause);
    }
    let Some(reason) = reason else {
        return Ok(VmState::Continue);
    };
    local.step = None;
    let site = Site {
        file: path.to_string(),
        line,
    };
    let mode = stop(lua, core, fork, reason, site, condition_error)?;
    if mode != ResumeMode::Continue {
        local.step = Some(Step {
            mode,
            thread: lua.current_thread(),
            depth: inspect::depth(lua),
        });
    }
    set_lines(lua, local.step.is_some() || dbg.wants_lines());
    Ok(VmState::Continue)
}

fn in_coroutine(lua: &Lua) -> bool {
    lua.exec_raw_lua(|raw| unsafe {
        let l = raw.state();
        let main = ffi::lua_pushthread(l) == 1;
        ffi::lua_settop(l, -2);
        !main
    })
}

/// Blocks this VM until it is told to go on; answers inspections meanwhile.
fn stop(
    lua: &Lua,
    core: &SessionCore,
    fork: Option<&str>,
    reason: StopReason,
    site: Site,
    condition_error: Option<String>,
) -> mlua::Result<ResumeMode> {
    let dbg = &core.debugger;
    let (tx, rx) = mpsc::channel();
    let Some(stop) = dbg.register_stop(tx) else {
        return Err(cancel_error());
    };
    core.emit(SessionEvent::Debug(DebugEvent::Stopped {
        stop,
        reason,
        site,
        fork: fork.map(str::to_string),
        in_coroutine: in_coroutine(lua),
        condition_error,
        frames: inspect::frames(lua),
    }));
    // The person's time, not the strategy's: a stop does not run down max_elapsed_ms.
    let wait = format!("debugger stop {stop}");
    core.counters()
        .person_wait_begins(&wait, std::time::Instant::now());
    let mut handles = inspect::Handles::default();
    let outcome = loop {
        match rx.recv() {
            Ok(StopRequest::Stack(reply)) => {
                let _ = reply.send(inspect::frames(lua));
            }
            Ok(StopRequest::Variables {
                frame,
                scope,
                max_len,
                reply,
            }) => {
                let upvalues = scope == crate::engine::debugger::Scope::Upvalues;
                let _ = reply.send(inspect::variables(
                    lua,
                    frame,
                    upvalues,
                    max_len,
                    &mut handles,
                ));
            }
            Ok(StopRequest::Expand {
                handle,
                max_len,
                reply,
            }) => {
                let _ = reply.send(inspect::expand(handle, max_len, &mut handles));
            }
            Ok(StopRequest::Evaluate {
                frame,
                expr,
                max_len,
                reply,
            }) => {
                let _ = reply.send(inspect::evaluate(lua, frame, &expr, max_len, &mut handles));
            }
            Ok(StopRequest::Resume(mode)) => break Some(mode),
            Ok(StopRequest::Cancel) | Err(_) => break None,
        }
    };
    dbg.end_stop(stop);
    core.counters()
        .person_wait_ends(&wait, std::time::Instant::now());
    match outcome {
        Some(mode) if !core.is_cancelled() => {
            core.emit(SessionEvent::Debug(DebugEvent::Resumed { stop }));
            Ok(mode)
        }
        _ => Err(cancel_error()),
    }
}
