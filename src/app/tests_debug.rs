//! Unit tests of the debugger in the model: a stop marks its line and fills the Stack
//! pane, the stepping keys become debugger requests, a step from an `alc.llm` pause
//! waits for the line after the answer, expressions and tables come back in place, and
//! F9 toggles breakpoints at the Source cursor for the next run and the running one.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;
use serde_json::json;

use super::stack::{DebugReply, DebugRequest};
use super::*;
use crate::engine::{
    BreakpointInfo, BreakpointSpec, BreakpointState, DebugEvent, Frame, Metrics, ResumeMode,
    SessionEvent, Site, StopReason, Variable,
};
use crate::testkit::{query, started};

fn code(c: KeyCode, mods: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(c, mods))
}
fn f(n: u8) -> Msg {
    code(KeyCode::F(n), KeyModifiers::NONE)
}
fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 100,
        event,
        metrics: Metrics::default(),
    })
}

fn app_with(breakpoints: Vec<BreakpointSpec>) -> (App, Vec<Effect>) {
    App::new(AppOptions {
        script: Some("demo/s.lua".into()),
        autostart: true,
        size: (100, 30),
        breakpoints,
        ..Default::default()
    })
}

fn running() -> App {
    let (mut app, _) = app_with(vec![]);
    update(&mut app, at(1, started("demo/s.lua", json!({}))));
    let lines = (1..=12).map(|i| Line::raw(format!("line {i}"))).collect();
    update(
        &mut app,
        Msg::SourceLoaded {
            file: "demo/s.lua".into(),
            lines,
        },
    );
    app
}

fn frame(level: u32, function: &str, line: u32) -> Frame {
    Frame {
        level,
        function: function.into(),
        file: "demo/s.lua".into(),
        line: Some(line),
        internal: false,
    }
}

fn var(name: &str, value: &str, handle: Option<u64>) -> Variable {
    Variable {
        name: name.into(),
        kind: if handle.is_some() { "table" } else { "number" }.into(),
        value: value.into(),
        handle,
    }
}

fn stopped(stop: u64, reason: StopReason, line: u32) -> Msg {
    at(
        10 + stop,
        SessionEvent::Debug(DebugEvent::Stopped {
            stop,
            reason,
            site: Site {
                file: "demo/s.lua".into(),
                line,
            },
            fork: None,
            in_coroutine: false,
            condition_error: None,
            frames: vec![frame(0, "add", line), frame(1, "main chunk", 9)],
        }),
    )
}

fn debug_requests(fx: &[Effect]) -> Vec<DebugRequest> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Debug(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stop_marks_its_line_fills_the_stack_and_says_so() {
    let mut app = running();
    let fx = update(&mut app, stopped(1, StopReason::Breakpoint(1), 4));
    assert_eq!(app.source.stopped_line(), Some(4));
    assert_eq!(app.source.cursor, 3, "the cursor jumps to the stopped line");
    assert!(app.stack.shown, "the Stack pane takes the Trace's place");
    let at = app.stack.stopped.as_ref().unwrap();
    assert_eq!(at.status(), "stopped at demo/s.lua:4 (breakpoint)");
    assert_eq!(
        debug_requests(&fx),
        vec![DebugRequest::Variables { stop: 1, frame: 0 }]
    );
    update(
        &mut app,
        Msg::Debug(DebugReply::Variables {
            stop: 1,
            frame: 0,
            result: Ok((vec![var("a", "1", None)], vec![var("total", "3", None)])),
        }),
    );
    let rows: Vec<_> = app
        .stack
        .vars
        .iter()
        .map(|r| (r.scope, r.var.name.as_str()))
        .collect();
    assert_eq!(rows, vec![("local", "a"), ("upvalue", "total")]);
}

#[test]
fn stepping_keys_resume_the_stop_and_resumed_clears_it() {
    let mut app = running();
    update(&mut app, stopped(7, StopReason::Step, 4));
    let cases = [
        (f(8), ResumeMode::Continue),
        (f(10), ResumeMode::StepOver),
        (f(11), ResumeMode::StepInto),
        (
            code(KeyCode::F(11), KeyModifiers::SHIFT),
            ResumeMode::StepOut,
        ),
    ];
    for (key, mode) in cases {
        let fx = update(&mut app, key);
        assert_eq!(
            debug_requests(&fx),
            vec![DebugRequest::Resume { stop: 7, mode }]
        );
    }
    update(
        &mut app,
        at(30, SessionEvent::Debug(DebugEvent::Resumed { stop: 7 })),
    );
    assert!(app.stack.stopped.is_none());
    assert_eq!(app.source.stopped_line(), None);
    // Not stopped: F8 says so and asks nothing.
    let fx = update(&mut app, f(8));
    assert!(debug_requests(&fx).is_empty());
    assert_eq!(app.message.as_deref(), Some(stepping::NOT_STOPPED));
}

#[test]
fn a_step_from_an_llm_pause_stops_at_the_line_after_the_answer_as_a_step() {
    let mut app = running();
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", "go?", "demo/s.lua", 2)],
            },
        ),
    );
    let fx = update(&mut app, f(10));
    assert_eq!(debug_requests(&fx), vec![DebugRequest::Pause]);
    assert_eq!(app.message.as_deref(), Some(stepping::STEP_AFTER_ANSWER));
    update(&mut app, stopped(2, StopReason::Pause, 3));
    assert_eq!(
        app.stack.stopped.as_ref().unwrap().status(),
        "stopped at demo/s.lua:3 (step)"
    );
}

#[test]
fn an_expression_is_evaluated_in_the_selected_frame_and_shown_in_place() {
    let mut app = running();
    update(&mut app, stopped(1, StopReason::Breakpoint(1), 4));
    // Select the caller's frame first (enter on it, Stack pane focused).
    app.focus = Focus::Trace;
    update(&mut app, code(KeyCode::Down, KeyModifiers::NONE));
    let fx = update(&mut app, code(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        debug_requests(&fx),
        vec![DebugRequest::Variables { stop: 1, frame: 1 }]
    );
    update(&mut app, code(KeyCode::Char('='), KeyModifiers::NONE));
    assert!(matches!(app.overlay, Some(Overlay::Expression { .. })));
    for c in "total * 2".chars() {
        update(&mut app, code(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let fx = update(&mut app, code(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.overlay.is_none());
    assert_eq!(
        debug_requests(&fx),
        vec![DebugRequest::Evaluate {
            stop: 1,
            frame: 1,
            expr: "total * 2".into()
        }]
    );
    update(
        &mut app,
        Msg::Debug(DebugReply::Evaluated {
            stop: 1,
            expr: "total * 2".into(),
            result: Ok(var("total * 2", "12", None)),
        }),
    );
    assert_eq!(
        app.stack.eval,
        Some(("total * 2".to_string(), Ok("12".to_string())))
    );
    update(
        &mut app,
        Msg::Debug(DebugReply::Evaluated {
            stop: 1,
            expr: "x +".into(),
            result: Err("syntax error: unexpected <eof>".into()),
        }),
    );
    assert_eq!(
        app.stack.eval,
        Some((
            "x +".to_string(),
            Err("syntax error: unexpected <eof>".to_string())
        ))
    );
    assert!(app.stack.stopped.is_some(), "still stopped");
}

#[test]
fn enter_expands_a_table_in_place_and_folds_it_again() {
    let mut app = running();
    update(&mut app, stopped(1, StopReason::Breakpoint(1), 4));
    update(
        &mut app,
        Msg::Debug(DebugReply::Variables {
            stop: 1,
            frame: 0,
            result: Ok((vec![var("t", "table (2 entries)", Some(5))], vec![])),
        }),
    );
    app.focus = Focus::Trace;
    // Two frames, then `t`.
    update(&mut app, code(KeyCode::Down, KeyModifiers::NONE));
    update(&mut app, code(KeyCode::Down, KeyModifiers::NONE));
    let fx = update(&mut app, code(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        debug_requests(&fx),
        vec![DebugRequest::Expand { stop: 1, handle: 5 }]
    );
    update(
        &mut app,
        Msg::Debug(DebugReply::Expanded {
            stop: 1,
            handle: 5,
            result: Ok(vec![var("[1]", "10", None), var("[2]", "20", None)]),
        }),
    );
    let rows: Vec<_> = app
        .stack
        .vars
        .iter()
        .map(|r| (r.depth, r.var.name.as_str()))
        .collect();
    assert_eq!(rows, vec![(0, "t"), (1, "[1]"), (1, "[2]")]);
    let fx = update(&mut app, code(KeyCode::Enter, KeyModifiers::NONE));
    assert!(debug_requests(&fx).is_empty());
    assert_eq!(app.stack.vars.len(), 1, "folded");
    // A reply for a stop that is over is dropped.
    update(
        &mut app,
        Msg::Debug(DebugReply::Variables {
            stop: 99,
            frame: 0,
            result: Ok((vec![], vec![])),
        }),
    );
    assert_eq!(app.stack.vars.len(), 1);
}

#[test]
fn f9_toggles_a_breakpoint_at_the_source_cursor_for_this_run_and_the_next() {
    let mut app = running();
    assert_eq!(app.focus, Focus::Source);
    for _ in 0..4 {
        update(&mut app, code(KeyCode::Down, KeyModifiers::NONE));
    }
    assert_eq!(app.source.cursor, 4);
    let fx = update(&mut app, f(9));
    let spec = BreakpointSpec {
        file: "demo/s.lua".into(),
        line: 5,
        condition: None,
    };
    assert_eq!(
        debug_requests(&fx),
        vec![DebugRequest::SetBreakpoint(spec.clone())]
    );
    assert_eq!(app.breakpoints.specs, vec![spec.clone()]);
    // The engine moved it to line 6 (no code on 5): the gutter shows it there.
    update(
        &mut app,
        Msg::Debug(DebugReply::Breakpoints(Ok(vec![BreakpointInfo {
            id: 3,
            file: "demo/s.lua".into(),
            line: 5,
            condition: None,
            state: BreakpointState::Bound {
                file: "/abs/demo/s.lua".into(),
                line: 6,
            },
        }]))),
    );
    assert_eq!(
        app.breakpoints.in_file("demo/s.lua"),
        vec![(6, breakpoints::Glyph::Bound)]
    );
    // F9 on its bound line clears it, in the session too.
    update(&mut app, code(KeyCode::Down, KeyModifiers::NONE));
    let fx = update(&mut app, f(9));
    assert_eq!(debug_requests(&fx), vec![DebugRequest::ClearBreakpoint(3)]);
    assert!(app.breakpoints.specs.is_empty());
    assert!(app.breakpoints.in_file("demo/s.lua").is_empty());
}

#[test]
fn break_flags_start_every_run_and_show_hollow_until_bound() {
    let spec = BreakpointSpec {
        file: "s.lua".into(),
        line: 7,
        condition: None,
    };
    let (app, fx) = app_with(vec![spec.clone()]);
    let start = fx.iter().find_map(|e| match e {
        Effect::StartSession(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(start.unwrap().breakpoints, vec![spec]);
    assert_eq!(debug_requests(&fx), vec![DebugRequest::ListBreakpoints]);
    assert_eq!(
        app.breakpoints.in_file("demo/s.lua"),
        vec![(7, breakpoints::Glyph::Pending)]
    );
}

#[test]
fn the_debugger_keys_are_bound_by_default_without_collisions() {
    let keymap = Keymap::default();
    for (action, chord) in [
        (Action::Continue, "f8"),
        (Action::ToggleBreakpoint, "f9"),
        (Action::StepOver, "f10"),
        (Action::StepInto, "f11"),
        (Action::StepOut, "shift-f11"),
        (Action::Evaluate, "="),
        (Action::Forward, "f5"),
    ] {
        assert_eq!(keymap.hint(action).as_deref(), Some(chord), "{action:?}");
    }
    // Rebindable from config [keys].
    let keys = [("step_over".to_string(), vec!["f6".to_string()])];
    let custom = Keymap::with_overrides(&keys.into_iter().collect()).unwrap();
    assert_eq!(custom.hint(Action::StepOver).as_deref(), Some("f6"));
}

#[test]
fn a_second_stop_waits_its_turn_and_shows_once_the_first_goes_on() {
    let mut app = running();
    update(&mut app, stopped(1, StopReason::Breakpoint(1), 4));
    let fx = update(&mut app, stopped(2, StopReason::Breakpoint(1), 8));
    assert!(debug_requests(&fx).is_empty());
    assert_eq!(app.stack.stop_id(), Some(1));
    assert_eq!(
        app.message.as_deref(),
        Some("also stopped at demo/s.lua:8 (breakpoint)")
    );
    let fx = update(
        &mut app,
        at(40, SessionEvent::Debug(DebugEvent::Resumed { stop: 1 })),
    );
    assert_eq!(app.stack.stop_id(), Some(2));
    assert_eq!(app.source.stopped_line(), Some(8));
    assert_eq!(
        debug_requests(&fx),
        vec![DebugRequest::Variables { stop: 2, frame: 0 }]
    );
    update(
        &mut app,
        at(41, SessionEvent::Debug(DebugEvent::Resumed { stop: 2 })),
    );
    assert!(app.stack.stopped.is_none());
}
