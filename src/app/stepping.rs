//! The debugger in the model: a stop shows its line and fills the Stack pane, the
//! stepping keys become debugger requests (`Effect::Debug`), and the replies land in
//! the Stack pane. Pure: no I/O.

use super::source::Mark;
pub(super) use super::stack::DebugRequest;
use super::stack::{DebugReply, StoppedAt};
use super::{App, Effect, Overlay};
use crate::engine::{DebugEvent, ResumeMode, StopReason};

/// What the status bar says when a stepping key finds nothing stopped.
pub const NOT_STOPPED: &str = "not stopped in the debugger (start with --break FILE:LINE)";

pub(super) fn on_event(app: &mut App, event: DebugEvent, fx: &mut Vec<Effect>) {
    match event {
        DebugEvent::Stopped {
            stop,
            reason,
            site,
            fork,
            in_coroutine,
            condition_error,
            frames,
        } => {
            let mark = Mark {
                file: site.file,
                line: site.line,
            };
            let stepped = std::mem::take(&mut app.stack.step_after_answer);
            let at = StoppedAt {
                stop,
                site: mark.clone(),
                reason: match reason {
                    StopReason::Pause if stepped => "step",
                    _ => reason.label(),
                },
                fork,
                in_coroutine,
                condition_error,
            };
            if let Some(e) = &at.condition_error {
                app.message = Some(format!("breakpoint condition failed: {e}"));
            }
            // Another VM (a fork child) is already shown stopped: this one waits its turn.
            if app.stack.stopped.is_some() {
                app.message = Some(format!("also {}", at.status()));
                app.stack.queued.push((at, frames));
                return;
            }
            show_stop(app, at, frames, fx);
        }
        DebugEvent::Resumed { stop } => {
            app.stack.queued.retain(|(at, _)| at.stop != stop);
            if app.stack.stop_id() == Some(stop) {
                app.stack.stopped = None;
                app.source.stopped = None;
                match app.stack.queued.is_empty() {
                    true => app.stack.resumed(),
                    false => {
                        let (at, frames) = app.stack.queued.remove(0);
                        show_stop(app, at, frames, fx);
                    }
                }
            }
        }
        DebugEvent::BreakpointBound {
            file,
            requested,
            line,
            ..
        } if requested != line => {
            app.message = Some(format!(
                "breakpoint {file}:{requested} moved to line {line} (no code on line {requested})"
            ));
        }
        DebugEvent::BreakpointBound { .. } => {}
        DebugEvent::BreakpointNoCode { file, line, .. } => {
            app.message = Some(format!(
                "breakpoint {file}:{line} never stops: no code at or after line {line}"
            ));
        }
    }
    if matches!(app.session.phase, super::Phase::Running) && app.breakpoints.live.is_some() {
        // Bound, moved or found without code: the gutter shows where it now stands.
        fx.push(Effect::Debug(DebugRequest::ListBreakpoints));
    }
}

/// Shows a stop: its line in the Source pane, its frames in the Stack pane, and asks
/// for the selected frame's variables.
fn show_stop(
    app: &mut App,
    at: StoppedAt,
    frames: Vec<crate::engine::Frame>,
    fx: &mut Vec<Effect>,
) {
    let (stop, mark) = (at.stop, at.site.clone());
    let queued = std::mem::take(&mut app.stack.queued);
    app.stack.stopped(at, frames);
    app.stack.queued = queued;
    app.source.stopped = Some(mark.clone());
    super::events::show_source(app, &mark, fx);
    fx.push(Effect::Debug(DebugRequest::Variables {
        stop,
        frame: app.stack.frame_level(),
    }));
}

/// F8, F10, F11, shift-F11. A step while the strategy waits in `alc.llm` stops at
/// the line after the answer.
pub(super) fn resume(app: &mut App, mode: ResumeMode, fx: &mut Vec<Effect>) {
    match app.stack.stop_id() {
        Some(stop) => fx.push(Effect::Debug(DebugRequest::Resume { stop, mode })),
        None if mode != ResumeMode::Continue
            && app.is_running()
            && !app.pending.queries.is_empty() =>
        {
            app.stack.step_after_answer = true;
            app.message = Some(STEP_AFTER_ANSWER.into());
            fx.push(Effect::Debug(DebugRequest::Pause));
        }
        None => app.message = Some(NOT_STOPPED.into()),
    }
}

/// What a step from an `alc.llm` pause says.
pub const STEP_AFTER_ANSWER: &str = "will stop at the line after the answer";

/// `=`: the expression box, while stopped.
pub(super) fn open_expression(app: &mut App) {
    if app.stack.stopped.is_some() {
        app.overlay = Some(Overlay::Expression {
            text: String::new(),
        });
    } else {
        app.message = Some(NOT_STOPPED.into());
    }
}

/// Enter in the expression box: evaluate it in the selected frame.
pub(super) fn evaluate(app: &mut App, text: String, fx: &mut Vec<Effect>) {
    let expr = text.trim().to_string();
    if let (Some(stop), false) = (app.stack.stop_id(), expr.is_empty()) {
        app.stack.shown = true;
        fx.push(Effect::Debug(DebugRequest::Evaluate {
            stop,
            frame: app.stack.frame_level(),
            expr,
        }));
    }
}

/// Enter in the Stack pane.
pub(super) fn expand(app: &mut App, fx: &mut Vec<Effect>) {
    if let Some(request) = app.stack.enter() {
        fx.push(Effect::Debug(request));
    }
}

/// F9 (or a click in the gutter): a breakpoint on or off at the Source cursor line,
/// for the next run and, while one goes on, for this one.
pub(super) fn toggle_breakpoint(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(file) = app
        .source
        .file
        .clone()
        .filter(|_| !app.source.lines.is_empty())
    else {
        app.message = Some("no source shown to set a breakpoint in".into());
        return;
    };
    let line = app.source.cursor as u32 + 1;
    let running = app.is_running();
    match app.breakpoints.toggle(&file, line) {
        Ok(spec) => {
            app.message = Some(format!("breakpoint set at {}:{}", spec.file, spec.line));
            if running {
                fx.push(Effect::Debug(DebugRequest::SetBreakpoint(spec)));
            }
        }
        Err(ids) => {
            app.message = Some(format!("breakpoint cleared at {file}:{line}"));
            if running {
                for id in ids {
                    fx.push(Effect::Debug(DebugRequest::ClearBreakpoint(id)));
                }
            }
        }
    }
}

pub(super) fn on_reply(app: &mut App, reply: DebugReply) {
    if let DebugReply::Breakpoints(list) = reply {
        match list {
            Ok(list) if app.is_running() => app.breakpoints.live = Some(list),
            Ok(_) => {}
            Err(e) => app.message = Some(e),
        }
        return;
    }
    if let Some(error) = app.stack.reply(reply) {
        app.message = Some(error);
    }
}
