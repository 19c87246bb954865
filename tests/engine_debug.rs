//! Engine tests of the debugger with real Lua: breakpoints (plain, conditional, moved,
//! pending), stepping over / into / out across functions and files, locals, upvalues,
//! tables, expressions, coroutines, fork children, pause, and cancel while stopped.
//! Every wait is on the event stream (with a generous deadline as a safety net).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use alc_workbench::engine::{
    Answer, AnswerOrigin, BreakpointSpec, BreakpointState, DebugError, DebugEvent, EventStream,
    Frame, Outcome, Query, ResumeMode, Scope, ScriptSpec, Session, SessionConfig, SessionEvent,
    Stamped, Status, StopId, StopReason, Variable,
};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(30);

const MAIN: &str = r#"local lib = require("lib")
local total = 0
local function add(a, b)
  local sum = a + b
  return sum
end

for i = 1, 3 do
  total = add(total, i)
end
local t = {name = string.rep("n", 300), list = {1, 2, 3}}
local r = lib.double(total)
return {total = total, r = r}
"#;

const LIB: &str = r#"local M = {}
local factor = 2
function M.double(x)
  local y = x * factor
  return y
end
return M
"#;

struct Stop {
    id: StopId,
    reason: StopReason,
    file: String,
    line: u32,
    fork: Option<String>,
    in_coroutine: bool,
    condition_error: Option<String>,
    frames: Vec<Frame>,
}

/// A session under test: its events forwarded to a channel we can wait on.
struct Dbg {
    session: Session,
    rx: mpsc::Receiver<Stamped>,
    /// Events seen while waiting for something else.
    seen: Vec<SessionEvent>,
    _dir: tempfile::TempDir,
}

fn forward(mut events: EventStream) -> mpsc::Receiver<Stamped> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some(e) = events.blocking_recv() {
            if tx.send(e).is_err() {
                break;
            }
        }
    });
    rx
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

impl Dbg {
    /// Writes `files` into a fresh directory and prepares `main` there (not started).
    fn files(files: &[(&str, &str)], main: &str) -> (tempfile::TempDir, SessionConfig) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            write(dir.path(), rel, text);
        }
        let mut c = SessionConfig::new(ScriptSpec::File(dir.path().join(main)));
        c.seed = Some(1);
        c.alc_home = dir.path().join("home");
        (dir, c)
    }

    /// Starts the session, after `before` (which sets breakpoints on it) has run.
    /// The VM may start before `before` runs: breakpoints are set from the first
    /// `alc.llm` or line on (tests that need them earlier stop at a first query).
    fn start(dir: tempfile::TempDir, config: SessionConfig) -> Dbg {
        let (session, events) = Session::start(config).unwrap();
        Dbg {
            session,
            rx: forward(events),
            seen: Vec::new(),
            _dir: dir,
        }
    }

    fn next(&mut self, what: &str) -> SessionEvent {
        match self.rx.recv_timeout(DEADLINE) {
            Ok(e) => e.event,
            Err(_) => panic!("waited for {what}; saw {:#?}", self.seen),
        }
    }

    /// Waits for the next event `pick` accepts; keeps the others in `seen`.
    fn wait<T>(&mut self, what: &str, pick: impl Fn(&SessionEvent) -> Option<T>) -> T {
        loop {
            let e = self.next(what);
            if let Some(t) = pick(&e) {
                return t;
            }
            if let SessionEvent::Finished(o) = &e {
                panic!("finished while waiting for {what}: {o:?}");
            }
            self.seen.push(e);
        }
    }

    fn stopped(&mut self) -> Stop {
        self.wait("a stop", |e| match e {
            SessionEvent::Debug(DebugEvent::Stopped {
                stop,
                reason,
                site,
                fork,
                in_coroutine,
                condition_error,
                frames,
            }) => Some(Stop {
                id: *stop,
                reason: reason.clone(),
                file: site.file.clone(),
                line: site.line,
                fork: fork.clone(),
                in_coroutine: *in_coroutine,
                condition_error: condition_error.clone(),
                frames: frames.clone(),
            }),
            _ => None,
        })
    }

    fn query(&mut self) -> Query {
        self.wait("a query", |e| match e {
            SessionEvent::Paused { queries, .. } => Some(queries[0].clone()),
            _ => None,
        })
    }

    fn answer(&self, q: &Query, text: &str) {
        self.session
            .answer(&q.id, Answer::new(text, AnswerOrigin::Script))
            .unwrap();
    }

    fn finished(&mut self) -> Outcome {
        loop {
            match self.next("the end") {
                SessionEvent::Finished(o) => return o,
                e => self.seen.push(e),
            }
        }
    }

    fn resume(&self, stop: &Stop, mode: ResumeMode) {
        self.session.debug_resume(stop.id, mode).unwrap();
    }

    fn vars(&self, stop: &Stop, frame: u32, scope: Scope) -> Vec<(String, String)> {
        self.session
            .debug_variables(stop.id, frame, scope, None)
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect()
    }

    fn eval(&self, stop: &Stop, frame: u32, expr: &str) -> Result<Variable, DebugError> {
        self.session.debug_evaluate(stop.id, frame, expr, None)
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The main script with a first `alc.llm` so breakpoints can be set before any line
/// of interest runs (the session starts running as soon as it is started).
fn gated(main: &str) -> String {
    format!("alc.llm('go?')\n{main}")
}

/// Starts `files` (main first) gated on a first query, sets breakpoints, answers it.
fn debug(files: &[(&str, &str)], set: impl FnOnce(&Session)) -> Dbg {
    let (dir, config) = Dbg::files(files, files[0].0);
    let mut d = Dbg::start(dir, config);
    let q = d.query();
    set(&d.session);
    d.answer(&q, "go");
    d
}

fn main_files() -> Vec<(&'static str, String)> {
    vec![("s.lua", gated(MAIN)), ("lib.lua", LIB.to_string())]
}

fn with<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    files.iter().map(|(a, b)| (*a, b.as_str())).collect()
}

// MAIN is shifted one line down by the gate: MAIN's line n is line n + 1.

#[test]
fn a_breakpoint_stops_with_the_stack_locals_and_upvalues() {
    let files = main_files();
    let mut bp = 0;
    let mut d = debug(&with(&files), |s| {
        bp = s.set_breakpoint("s.lua", 5, None).unwrap(); // `local sum = a + b`
    });
    let stop = d.stopped();
    assert_eq!(stop.reason, StopReason::Breakpoint(bp));
    assert!(
        stop.file.ends_with("s.lua") && stop.line == 5,
        "{}:{}",
        stop.file,
        stop.line
    );
    assert_eq!(stop.reason.label(), "breakpoint");
    assert_eq!(stop.fork, None);
    assert!(!stop.in_coroutine);
    assert_eq!(stop.frames[0].function, "add");
    assert_eq!(stop.frames[0].line, Some(5));
    assert_eq!(stop.frames[1].function, "main chunk");
    assert_eq!(stop.frames[1].line, Some(10));
    assert_eq!(d.session.debug_stack(stop.id).unwrap(), stop.frames);
    assert_eq!(
        d.vars(&stop, 0, Scope::Locals),
        pairs(&[("a", "0"), ("b", "1")])
    );
    let main_locals = d.vars(&stop, 1, Scope::Locals);
    assert_eq!(
        main_locals,
        pairs(&[
            ("lib", "table (1 entry)"),
            ("total", "0"),
            ("add", &format!("function <{}:4>", stop.file)),
            ("i", "1"),
        ])
    );
    d.resume(&stop, ResumeMode::Continue);
    let again = d.stopped();
    assert_eq!(
        d.vars(&again, 0, Scope::Locals),
        pairs(&[("a", "1"), ("b", "2")])
    );
    // The first stop is over: commands naming it are refused.
    assert_eq!(
        d.session.debug_stack(stop.id),
        Err(DebugError::NotStopped(stop.id))
    );
    d.session.clear_breakpoint(bp).unwrap();
    d.resume(&again, ResumeMode::Continue);
    let out = d.finished();
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(out.result.unwrap(), json!({"total": 6, "r": 12}));

    // Upvalues, in a package file named by its suffix.
    let files = main_files();
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("lib.lua", 4, None).unwrap();
    });
    let stop = d.stopped();
    assert!(stop.file.ends_with("lib.lua"), "{}", stop.file);
    assert_eq!(stop.frames[0].function, "double");
    assert_eq!(d.vars(&stop, 0, Scope::Locals), pairs(&[("x", "6")]));
    assert_eq!(d.vars(&stop, 0, Scope::Upvalues), pairs(&[("factor", "2")]));
    d.resume(&stop, ResumeMode::Continue);
    assert_eq!(d.finished().status, Status::Completed);
}

#[test]
fn tables_expand_by_handle_and_long_strings_are_cut_on_request() {
    let files = main_files();
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("lib.lua", 4, None).unwrap();
    });
    let stop = d.stopped();
    let main = d
        .session
        .debug_variables(stop.id, 1, Scope::Locals, Some(10))
        .unwrap();
    let t = main.iter().find(|v| v.name == "t").unwrap();
    assert_eq!(
        (t.kind.as_str(), t.value.as_str()),
        ("table", "table (2 entries)")
    );
    let entries = d
        .session
        .debug_expand(stop.id, t.handle.unwrap(), Some(10))
        .unwrap();
    assert_eq!(entries[0].name, "list");
    assert_eq!(entries[1].name, "name");
    assert_eq!(entries[1].value, "\"nnnnnnnnnn\"… (300 bytes)");
    let list = d
        .session
        .debug_expand(stop.id, entries[0].handle.unwrap(), None)
        .unwrap();
    let list: Vec<_> = list.into_iter().map(|v| (v.name, v.value)).collect();
    assert_eq!(list, pairs(&[("[1]", "1"), ("[2]", "2"), ("[3]", "3")]));
    assert_eq!(
        d.session.debug_expand(stop.id, 999, None),
        Err(DebugError::UnknownHandle(999))
    );
    d.resume(&stop, ResumeMode::Continue);
    assert_eq!(d.finished().status, Status::Completed);
}

#[test]
fn a_conditional_breakpoint_stops_only_when_its_condition_holds() {
    let files = main_files();
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("s.lua", 5, Some("b == 3")).unwrap();
    });
    let stop = d.stopped();
    assert_eq!(
        d.vars(&stop, 0, Scope::Locals),
        pairs(&[("a", "3"), ("b", "3")])
    );
    d.resume(&stop, ResumeMode::Continue);
    let out = d.finished();
    assert_eq!(out.status, Status::Completed);
    let stops = d
        .seen
        .iter()
        .filter(|e| matches!(e, SessionEvent::Debug(DebugEvent::Stopped { .. })))
        .count();
    assert_eq!(stops, 0, "one stop only (b == 3)");

    // A condition that fails at run time stops, and says why.
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("s.lua", 5, Some("a.x > 1")).unwrap();
    });
    let stop = d.stopped();
    let err = stop.condition_error.clone().unwrap();
    assert!(err.contains("attempt to index"), "{err}");
    d.session.cancel();
    assert_eq!(d.finished().status, Status::Cancelled);
}

#[test]
fn a_breakpoint_without_code_moves_on_and_one_never_loaded_stays_pending() {
    let files = main_files();
    let (mut blank, mut late, mut nowhere) = (0, 0, 0);
    let mut d = debug(&with(&files), |s| {
        blank = s.set_breakpoint("s.lua", 8, None).unwrap(); // the empty line
        late = s.set_breakpoint("lib.lua", 60, None).unwrap();
        nowhere = s.set_breakpoint("never.lua", 1, None).unwrap();
    });
    let stop = d.stopped();
    assert_eq!(stop.reason, StopReason::Breakpoint(blank));
    assert_eq!(stop.line, 9, "moved to the `for` line");
    let moved = d.seen.iter().find_map(|e| match e {
        SessionEvent::Debug(DebugEvent::BreakpointBound {
            id,
            requested,
            line,
            ..
        }) if *id == blank => Some((*requested, *line)),
        _ => None,
    });
    assert_eq!(moved, Some((8, 9)));
    d.session.clear_breakpoint(blank).unwrap();
    d.resume(&stop, ResumeMode::Continue);
    assert_eq!(d.finished().status, Status::Completed);
    let no_code = d.seen.iter().any(|e| {
        matches!(e, SessionEvent::Debug(DebugEvent::BreakpointNoCode { id, line: 60, .. }) if *id == late)
    });
    assert!(no_code, "{:#?}", d.seen);
    let states: Vec<_> = d
        .session
        .breakpoints()
        .into_iter()
        .map(|b| (b.id, b.state))
        .collect();
    assert!(
        matches!(&states[0], (id, BreakpointState::NoCode { file }) if *id == late && file.ends_with("lib.lua"))
    );
    assert_eq!(states[1], (nowhere, BreakpointState::Pending));
}

#[test]
fn stepping_over_into_and_out_across_functions_and_files() {
    let files = main_files();
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("s.lua", 10, None).unwrap(); // `total = add(total, i)`
    });
    let at_call = d.stopped();
    for b in d.session.breakpoints() {
        d.session.clear_breakpoint(b.id).unwrap();
    }
    d.resume(&at_call, ResumeMode::StepInto);
    let inside = d.stopped();
    assert_eq!(inside.reason, StopReason::Step);
    assert_eq!(
        (inside.frames[0].function.as_str(), inside.line),
        ("add", 5)
    );
    d.resume(&inside, ResumeMode::StepOver);
    let next = d.stopped();
    assert_eq!((next.frames[0].function.as_str(), next.line), ("add", 6));
    d.resume(&next, ResumeMode::StepOut);
    let out = d.stopped();
    assert_eq!(out.frames[0].function, "main chunk");
    assert!(
        [9, 10].contains(&out.line),
        "back in the loop, at {}",
        out.line
    );
    // Step over the call: never inside `add`.
    let mut stop = out;
    while stop.line != 12 {
        d.resume(&stop, ResumeMode::StepOver);
        stop = d.stopped();
        assert_eq!(stop.frames[0].function, "main chunk", "line {}", stop.line);
    }
    d.resume(&stop, ResumeMode::StepOver);
    let at_double = d.stopped();
    assert_eq!(at_double.line, 13);
    // Into another file, and out again.
    d.resume(&at_double, ResumeMode::StepInto);
    let in_lib = d.stopped();
    assert!(in_lib.file.ends_with("lib.lua"), "{}", in_lib.file);
    assert_eq!(
        (in_lib.frames[0].function.as_str(), in_lib.line),
        ("double", 4)
    );
    d.resume(&in_lib, ResumeMode::StepOut);
    let back = d.stopped();
    assert!(back.file.ends_with("s.lua"), "{}", back.file);
    assert_eq!(back.line, 14);
    d.resume(&back, ResumeMode::Continue);
    assert_eq!(d.finished().status, Status::Completed);
}

#[test]
fn expressions_read_the_frame_refuse_writes_and_alc_llm_and_errors_keep_it_stopped() {
    let files = main_files();
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("lib.lua", 4, None).unwrap();
    });
    let stop = d.stopped();
    let v = d.eval(&stop, 0, "x * factor + 1").unwrap();
    assert_eq!((v.kind.as_str(), v.value.as_str()), ("integer", "13"));
    assert_eq!(d.eval(&stop, 1, "total").unwrap().value, "6");
    assert_eq!(
        d.eval(&stop, 1, "#t.list, t.list[2]").unwrap().value,
        "3, 2"
    );
    assert_eq!(
        d.eval(&stop, 0, "string.upper('ok')").unwrap().value,
        "\"OK\""
    );
    let syntax = d.eval(&stop, 0, "x +").unwrap_err().to_string();
    assert!(syntax.starts_with("syntax error"), "{syntax}");
    let runtime = d.eval(&stop, 0, "nothing.here").unwrap_err().to_string();
    assert!(
        runtime.contains("attempt to index a nil value"),
        "{runtime}"
    );
    let write = d
        .eval(&stop, 1, "(function() total = 99 end)()")
        .unwrap_err();
    assert!(
        write
            .to_string()
            .contains("read-only: cannot assign 'total'"),
        "{write}"
    );
    let llm = d
        .eval(&stop, 0, "alc.llm('sneaky')")
        .unwrap_err()
        .to_string();
    assert!(llm.contains("alc.llm is refused while stopped"), "{llm}");
    let exit = d.eval(&stop, 0, "os.exit(3)").unwrap_err().to_string();
    assert!(exit.contains("os.exit is refused while stopped"), "{exit}");
    assert_eq!(
        d.session.debug_variables(stop.id, 40, Scope::Locals, None),
        Err(DebugError::NoFrame(40))
    );
    // Still stopped, nothing changed.
    assert_eq!(d.vars(&stop, 0, Scope::Locals), pairs(&[("x", "6")]));
    d.resume(&stop, ResumeMode::Continue);
    let out = d.finished();
    assert_eq!(out.result.unwrap(), json!({"total": 6, "r": 12}));
    assert_eq!(out.metrics.llm_calls, 1, "only the gate was asked");
}

#[test]
fn a_stop_inside_a_coroutine_steps_out_through_its_yield() {
    let co = "local co = coroutine.wrap(function(a)\n  local inside = a * 2\n  coroutine.yield(inside)\n  return inside + 1\nend)\nlocal first = co(5)\nlocal second = co()\nreturn {first, second}\n";
    let files = vec![("c.lua", gated(co))];
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("c.lua", 4, None).unwrap(); // `coroutine.yield(inside)`
    });
    let stop = d.stopped();
    assert!(stop.in_coroutine);
    assert_eq!(
        d.vars(&stop, 0, Scope::Locals),
        pairs(&[("a", "5"), ("inside", "10")])
    );
    d.resume(&stop, ResumeMode::StepOver);
    let outside = d.stopped();
    assert!(!outside.in_coroutine);
    assert_eq!(outside.line, 8, "the line after `co(5)`");
    d.resume(&outside, ResumeMode::StepInto);
    let back_in = d.stopped();
    assert!(back_in.in_coroutine);
    assert_eq!(back_in.line, 5);
    d.resume(&back_in, ResumeMode::Continue);
    let out = d.finished();
    assert_eq!(out.result.unwrap(), json!([10, 11]));
}

#[test]
fn a_fork_child_stops_while_its_sibling_waits_on_a_query() {
    let child = "local M = {}\nfunction M.run(ctx)\n  local n = 41\n  n = n + 1\n  return {n = n}\nend\nreturn M\n";
    let asker =
        "local M = {}\nfunction M.run(ctx)\n  return {said = alc.llm('sibling?')}\nend\nreturn M\n";
    let main = gated("local r = alc.fork({'asker', 'child'}, {})\nreturn r\n");
    let files = vec![
        ("f.lua", main),
        ("child/init.lua", child.to_string()),
        ("asker/init.lua", asker.to_string()),
    ];
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("child/init.lua", 4, None).unwrap();
    });
    let (mut stop, mut query) = (None, None);
    while stop.is_none() || query.is_none() {
        match d.next("the child's stop and the sibling's query") {
            SessionEvent::Debug(DebugEvent::Stopped {
                stop: id,
                fork,
                site,
                ..
            }) => stop = Some((id, fork, site)),
            SessionEvent::Paused { queries, .. } => query = Some(queries[0].clone()),
            e => d.seen.push(e),
        }
    }
    let (id, fork, site) = stop.unwrap();
    let query = query.unwrap();
    assert_eq!(fork.as_deref(), Some("child"));
    assert_eq!(query.fork.as_deref(), Some("asker"));
    assert!(site.file.ends_with("child/init.lua") && site.line == 4);
    let locals = d
        .session
        .debug_variables(id, 0, Scope::Locals, None)
        .unwrap();
    assert_eq!(locals.iter().find(|v| v.name == "n").unwrap().value, "41");
    d.answer(&query, "yes");
    d.session.debug_resume(id, ResumeMode::Continue).unwrap();
    let out = d.finished();
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    let r = out.result.unwrap();
    assert_eq!(r[0]["result"], json!({"said": "yes"}));
    assert_eq!(r[1]["result"], json!({"n": 42}));
}

#[test]
fn pause_while_waiting_stops_at_the_line_after_the_answer() {
    let (dir, config) = Dbg::files(
        &[(
            "p.lua",
            "local a = alc.llm('q?')\nlocal b = a .. '!'\nreturn b\n",
        )],
        "p.lua",
    );
    let mut d = Dbg::start(dir, config);
    let q = d.query();
    d.session.debug_pause();
    d.answer(&q, "hi");
    let stop = d.stopped();
    assert_eq!((stop.reason.clone(), stop.line), (StopReason::Pause, 2));
    assert_eq!(d.vars(&stop, 0, Scope::Locals), pairs(&[("a", "\"hi\"")]));
    d.resume(&stop, ResumeMode::StepOver);
    let step = d.stopped();
    assert_eq!((step.reason.clone(), step.line), (StopReason::Step, 3));
    d.resume(&step, ResumeMode::Continue);
    assert_eq!(d.finished().result.unwrap(), json!("hi!"));
}

#[test]
fn cancel_ends_a_stopped_strategy() {
    let files = main_files();
    let mut d = debug(&with(&files), |s| {
        s.set_breakpoint("s.lua", 5, None).unwrap();
    });
    let stop = d.stopped();
    d.session.cancel();
    let out = d.finished();
    assert_eq!(out.status, Status::Cancelled);
    assert_eq!(
        d.session.debug_resume(stop.id, ResumeMode::Continue),
        Err(DebugError::NotStopped(stop.id))
    );
}

#[test]
fn without_breakpoints_nothing_of_the_debugger_shows() {
    let files = main_files();
    let mut d = debug(&with(&files), |_| {});
    let out = d.finished();
    assert_eq!(out.status, Status::Completed);
    assert!(!d.seen.iter().any(|e| matches!(e, SessionEvent::Debug(_))));
}

#[test]
fn breakpoints_given_at_start_apply_from_the_first_line_and_bad_ones_refuse_the_start() {
    let (dir, mut config) = Dbg::files(&[("s.lua", MAIN), ("lib.lua", LIB)], "s.lua");
    config.breakpoints = vec![BreakpointSpec {
        file: "s.lua".into(),
        line: 1,
        condition: None,
    }];
    let mut bad = config.clone();
    bad.breakpoints[0].condition = Some("x ==".into());
    let err = Session::start(bad).err().unwrap().to_string();
    assert!(err.contains("s.lua:1: condition"), "{err}");
    let mut d = Dbg::start(dir, config);
    let stop = d.stopped();
    assert_eq!(
        (stop.line, stop.frames[0].function.as_str()),
        (1, "main chunk")
    );
    d.resume(&stop, ResumeMode::Continue);
    assert_eq!(d.finished().status, Status::Completed);
}

#[test]
fn time_stopped_in_the_debugger_is_the_persons_not_the_strategys() {
    let main = gated("local x = 1\nlocal a = alc.llm('after')\nreturn {x = x, a = a}\n");
    let (dir, mut config) = Dbg::files(&[("s.lua", &main)], "s.lua");
    config.ctx = json!({"budget": {"max_elapsed_ms": 300}});
    let mut d = Dbg::start(dir, config);
    let gate = d.query();
    d.session.set_breakpoint("s.lua", 2, None).unwrap();
    d.answer(&gate, "go");
    let stop = d.stopped();
    // The thing measured: a person looking at the stop for longer than the budget.
    std::thread::sleep(Duration::from_millis(500));
    d.resume(&stop, ResumeMode::Continue);
    let after = d.query();
    d.answer(&after, "ok");
    let out = d.finished();
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert!(out.metrics.human_ms >= 500, "{:?}", out.metrics);
    assert!(out.metrics.elapsed_ms < 300, "{:?}", out.metrics);
}
