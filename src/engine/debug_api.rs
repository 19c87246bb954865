//! The debugger commands on [`Session`]: what a front end calls to set breakpoints,
//! go on from a stop, and look at a stopped VM.
//!
//! Breakpoints and `debug_pause` work from any thread at any time (before the run
//! reaches them, while it runs, while it waits in `alc.llm`). The other commands name
//! a stop (from a `DebugEvent::Stopped` event): several VMs of one session (fork
//! children) can be stopped at once. Inspections are answered by the stopped VM's own
//! thread; they block the caller for that round trip only (microseconds), or return
//! `DebugError::NotStopped` when the stop is over.

use std::sync::mpsc;

use super::debugger::{
    BreakpointId, BreakpointInfo, DebugError, Frame, Handle, ResumeMode, Scope, StopId,
    StopRequest, Variable,
};
use super::session::Session;

impl Session {
    /// Sets a breakpoint at `file:line`; `file` is matched as a path suffix of any
    /// chunk (the script, a package, a fork child's package): `s.lua`, `cot/init.lua`.
    /// A `condition` (a Lua expression, evaluated in the stopped frame) makes it stop
    /// only when truthy; a syntax error in it is refused here. The breakpoint binds
    /// when a matching file is loaded (a `BreakpointBound` event, with the line moved
    /// to the next one with code if needed); until then it is pending.
    pub fn set_breakpoint(
        &self,
        file: &str,
        line: u32,
        condition: Option<&str>,
    ) -> Result<BreakpointId, DebugError> {
        self.core()
            .debugger
            .add_breakpoint(file, line, condition.map(str::to_string))
    }

    pub fn clear_breakpoint(&self, id: BreakpointId) -> Result<(), DebugError> {
        self.core().debugger.remove_breakpoint(id)
    }

    /// Every breakpoint, with where it stands (pending, bound, no code).
    pub fn breakpoints(&self) -> Vec<BreakpointInfo> {
        self.core().debugger.breakpoints()
    }

    /// Stops the strategy at the next line it runs (in any of its VMs). While it waits
    /// in `alc.llm`, that is the line after the answer: pause, then answer, to step on.
    pub fn debug_pause(&self) {
        self.core().debugger.request_pause()
    }

    /// The stops now in force (one per stopped VM), oldest first.
    pub fn debug_stops(&self) -> Vec<StopId> {
        self.core().debugger.stopped()
    }

    /// Lets a stopped VM go on: continue, or step over / into / out.
    pub fn debug_resume(&self, stop: StopId, mode: ResumeMode) -> Result<(), DebugError> {
        self.core().debugger.send(stop, StopRequest::Resume(mode))
    }

    /// The stopped VM's call stack, level 0 first (where it stopped).
    pub fn debug_stack(&self, stop: StopId) -> Result<Vec<Frame>, DebugError> {
        let (tx, rx) = mpsc::channel();
        self.core().debugger.send(stop, StopRequest::Stack(tx))?;
        rx.recv().map_err(|_| DebugError::NotStopped(stop))
    }

    /// A frame's locals (in declaration order) or upvalues. Strings longer than
    /// `max_len` characters are cut (the value says so); tables come with a handle.
    pub fn debug_variables(
        &self,
        stop: StopId,
        frame: u32,
        scope: Scope,
        max_len: Option<usize>,
    ) -> Result<Vec<Variable>, DebugError> {
        let (reply, rx) = mpsc::channel();
        let req = StopRequest::Variables {
            frame,
            scope,
            max_len,
            reply,
        };
        self.core().debugger.send(stop, req)?;
        rx.recv().map_err(|_| DebugError::NotStopped(stop))?
    }

    /// The entries of a table seen in this stop (by the handle of its [`Variable`]).
    pub fn debug_expand(
        &self,
        stop: StopId,
        handle: Handle,
        max_len: Option<usize>,
    ) -> Result<Vec<Variable>, DebugError> {
        let (reply, rx) = mpsc::channel();
        let req = StopRequest::Expand {
            handle,
            max_len,
            reply,
        };
        self.core().debugger.send(stop, req)?;
        rx.recv().map_err(|_| DebugError::NotStopped(stop))?
    }

    /// Evaluates a Lua expression in a frame: it reads the frame's locals, upvalues
    /// and globals, and may not assign any of them (read-only) nor call `alc.llm`. A
    /// syntax or runtime error comes back as [`DebugError::Eval`]; the VM stays stopped.
    pub fn debug_evaluate(
        &self,
        stop: StopId,
        frame: u32,
        expr: &str,
        max_len: Option<usize>,
    ) -> Result<Variable, DebugError> {
        let (reply, rx) = mpsc::channel();
        let req = StopRequest::Evaluate {
            frame,
            expr: expr.to_string(),
            max_len,
            reply,
        };
        self.core().debugger.send(stop, req)?;
        rx.recv().map_err(|_| DebugError::NotStopped(stop))?
    }
}
