//! The Stack pane's state: where the debugger stopped the strategy, the stopped VM's
//! frames, and the selected frame's locals and upvalues (tables expanded in place),
//! plus the last expression evaluated there. Also the requests the model sends the
//! debugger and the replies that come back (data only: the runtime runs them off the
//! loop task, against the session). No I/O.

use crate::engine::{
    BreakpointId, BreakpointInfo, BreakpointSpec, Frame, Handle, ResumeMode, StopId, Variable,
};

use super::source::Mark;

/// What the model asks of the session's debugger (an `Effect::Debug`).
#[derive(Debug, Clone, PartialEq)]
pub enum DebugRequest {
    Resume {
        stop: StopId,
        mode: ResumeMode,
    },
    /// The locals and upvalues of `frame` (level 0 is the stopped function).
    Variables {
        stop: StopId,
        frame: u32,
    },
    /// A table's entries, shown under its row.
    Expand {
        stop: StopId,
        handle: Handle,
    },
    Evaluate {
        stop: StopId,
        frame: u32,
        expr: String,
    },
    /// Stop at the next line any VM runs: while waiting in `alc.llm`, the line after
    /// the answer (a step from an `alc.llm` pause).
    Pause,
    SetBreakpoint(BreakpointSpec),
    ClearBreakpoint(BreakpointId),
    /// The session's breakpoints as they stand (bound, moved, pending).
    ListBreakpoints,
}

/// What the debugger answered (a `Msg::Debug`).
#[derive(Debug, Clone, PartialEq)]
pub enum DebugReply {
    Variables {
        stop: StopId,
        frame: u32,
        result: Result<(Vec<Variable>, Vec<Variable>), String>,
    },
    Expanded {
        stop: StopId,
        handle: Handle,
        result: Result<Vec<Variable>, String>,
    },
    Evaluated {
        stop: StopId,
        expr: String,
        result: Result<Variable, String>,
    },
    /// The session's breakpoints, after a set, clear or list.
    Breakpoints(Result<Vec<BreakpointInfo>, String>),
    /// The stopped VM was told to go on (its `Resumed` event follows).
    Resumed,
    /// A command the session refused (the stop is over, no debugger…).
    Refused(String),
}

/// Where and why the strategy stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct StoppedAt {
    pub stop: StopId,
    pub site: Mark,
    /// `breakpoint`, `step` or `pause`.
    pub reason: &'static str,
    /// The `alc.fork` child that stopped, if one did.
    pub fork: Option<String>,
    pub in_coroutine: bool,
    pub condition_error: Option<String>,
}

impl StoppedAt {
    /// The status bar's words: `stopped at s.lua:7 (breakpoint)`.
    pub fn status(&self) -> String {
        let child = self
            .fork
            .as_deref()
            .map(|f| format!(" in fork {f}"))
            .unwrap_or_default();
        format!(
            "stopped at {}:{} ({}){child}",
            self.site.file, self.site.line, self.reason
        )
    }
}

/// One row of the variables list: a local, an upvalue, or a table entry under one.
#[derive(Debug, Clone, PartialEq)]
pub struct VarRow {
    /// 0 for a frame's variable, one more per table level.
    pub depth: usize,
    /// `local` or `upvalue` (a table entry takes its parent's).
    pub scope: &'static str,
    pub var: Variable,
    pub expanded: bool,
}

/// The Stack pane.
#[derive(Debug, Clone, Default)]
pub struct StackPane {
    pub stopped: Option<StoppedAt>,
    pub frames: Vec<Frame>,
    /// The frame whose variables are shown (and where expressions run).
    pub frame: usize,
    pub vars: Vec<VarRow>,
    /// The cursor over frames then variables: `0..frames.len()` picks a frame, the
    /// rest a variable row.
    pub cursor: usize,
    pub scroll: usize,
    /// Shown in place of the Trace pane (toggled; shown by itself when a stop comes).
    pub shown: bool,
    /// The last expression and its value (or error), shown at the pane's foot.
    pub eval: Option<(String, Result<String, String>)>,
    /// Why the variables could not be read.
    pub error: Option<String>,
    /// Other stops in force (fork children stop each on their own), shown in turn once
    /// the one on screen goes on.
    pub queued: Vec<(StoppedAt, Vec<Frame>)>,
    /// A step was asked from an `alc.llm` pause: the stop after the answer is a step.
    pub step_after_answer: bool,
}

impl StackPane {
    /// A stop came: its frames, the innermost user frame selected.
    pub fn stopped(&mut self, at: StoppedAt, frames: Vec<Frame>) {
        self.frame = frames.iter().position(|f| !f.internal).unwrap_or(0);
        self.frames = frames;
        self.stopped = Some(at);
        self.vars.clear();
        self.cursor = self.frame;
        self.scroll = 0;
        self.eval = None;
        self.error = None;
        self.shown = true;
    }

    /// The strategy went on (or ended): nothing to inspect.
    pub fn resumed(&mut self) {
        self.queued.clear();
        self.stopped = None;
        self.frames.clear();
        self.vars.clear();
        self.eval = None;
        self.error = None;
    }

    pub fn stop_id(&self) -> Option<StopId> {
        self.stopped.as_ref().map(|s| s.stop)
    }

    /// The selected frame's level, as the debugger counts it.
    pub fn frame_level(&self) -> u32 {
        self.frames.get(self.frame).map_or(0, |f| f.level)
    }

    pub fn rows(&self) -> usize {
        self.frames.len() + self.vars.len()
    }

    pub fn move_cursor(&mut self, delta: isize, height: usize) {
        let last = self.rows().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        } else if height > 0 && self.cursor >= self.scroll + height {
            self.scroll = self.cursor + 1 - height;
        }
    }

    /// Enter on the cursor: a frame is selected (its variables asked for), a table
    /// row expands (or folds).
    pub fn enter(&mut self) -> Option<DebugRequest> {
        let stop = self.stop_id()?;
        if self.cursor < self.frames.len() {
            self.frame = self.cursor;
            self.vars.clear();
            return Some(DebugRequest::Variables {
                stop,
                frame: self.frame_level(),
            });
        }
        let i = self.cursor - self.frames.len();
        let row = self.vars.get_mut(i)?;
        let handle = row.var.handle?;
        if row.expanded {
            row.expanded = false;
            let depth = row.depth;
            let end = self.vars[i + 1..]
                .iter()
                .position(|r| r.depth <= depth)
                .map_or(self.vars.len(), |n| i + 1 + n);
            self.vars.drain(i + 1..end);
            return None;
        }
        Some(DebugRequest::Expand { stop, handle })
    }

    /// The debugger answered: fill in what was asked (a reply for an older stop is
    /// dropped).
    pub fn reply(&mut self, reply: DebugReply) -> Option<String> {
        let current = self.stop_id();
        match reply {
            DebugReply::Variables {
                stop,
                frame,
                result,
            } if Some(stop) == current && frame == self.frame_level() => match result {
                Ok((locals, upvalues)) => {
                    let row = |scope| {
                        move |var| VarRow {
                            depth: 0,
                            scope,
                            var,
                            expanded: false,
                        }
                    };
                    self.vars = locals.into_iter().map(row("local")).collect();
                    self.vars.extend(upvalues.into_iter().map(row("upvalue")));
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            },
            DebugReply::Expanded {
                stop,
                handle,
                result,
            } if Some(stop) == current => {
                let i = self
                    .vars
                    .iter()
                    .position(|r| r.var.handle == Some(handle) && !r.expanded)?;
                match result {
                    Ok(entries) => {
                        let parent = &mut self.vars[i];
                        parent.expanded = true;
                        let (depth, scope) = (parent.depth + 1, parent.scope);
                        let rows = entries.into_iter().map(|var| VarRow {
                            depth,
                            scope,
                            var,
                            expanded: false,
                        });
                        self.vars.splice(i + 1..i + 1, rows);
                    }
                    Err(e) => return Some(e),
                }
            }
            DebugReply::Evaluated { stop, expr, result } if Some(stop) == current => {
                self.eval = Some((expr, result.map(|v| v.value)));
            }
            DebugReply::Refused(e) => return Some(e),
            _ => {}
        }
        None
    }
}
