//! Snapshots of the debugger on screen (characters only): the stopped screen (status
//! bar, the Source pane's stopped line and breakpoint gutter, the Stack pane in the
//! Trace's place) and the Stack pane with a table expanded and an expression's value.
//! Built by feeding messages to `update`, drawn on a `TestBackend`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::stack::DebugReply;
use alc_workbench::app::{update, App, AppOptions, Focus, Msg};
use alc_workbench::engine::{
    BreakpointInfo, BreakpointSpec, BreakpointState, DebugEvent, Frame, Metrics, SessionEvent,
    Site, Stamped, StopReason, Variable,
};
use alc_workbench::highlight::highlight_lua;
use alc_workbench::testkit::started;
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/s.lua";
const SOURCE: &str = r#"local total = 0
local function add(a, b)
  local sum = a + b
  return sum
end

for i = 1, 3 do
  total = add(total, i)
end
local t = {name = "scores", list = {4, 8}}
local verdict = alc.llm("Is " .. total .. " enough?")
return {total = total, verdict = verdict}
"#;

fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 100,
        event,
        metrics: Metrics::default(),
    })
}

fn var(name: &str, kind: &str, value: &str, handle: Option<u64>) -> Variable {
    Variable {
        name: name.into(),
        kind: kind.into(),
        value: value.into(),
        handle,
    }
}

fn frame(level: u32, function: &str, file: &str, line: Option<u32>, internal: bool) -> Frame {
    Frame {
        level,
        function: function.into(),
        file: file.into(),
        line,
        internal,
    }
}

/// Stopped at the breakpoint on `local sum = a + b` (line 3), its variables shown.
fn stopped() -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({}),
        autostart: true,
        size: (100, 30),
        breakpoints: vec![
            BreakpointSpec {
                file: "s.lua".into(),
                line: 3,
                condition: None,
            },
            BreakpointSpec {
                file: "s.lua".into(),
                line: 6,
                condition: None,
            },
        ],
        ..Default::default()
    });
    update(
        &mut app,
        Msg::SourceLoaded {
            file: FILE.into(),
            lines: highlight_lua(SOURCE, Some("base16-ocean.dark")),
        },
    );
    update(&mut app, at(1, started(FILE, json!({}))));
    // The engine bound the first and moved the second (line 6 is blank) to line 7.
    let bound = |id, line, at| BreakpointInfo {
        id,
        file: "s.lua".into(),
        line,
        condition: None,
        state: BreakpointState::Bound {
            file: FILE.into(),
            line: at,
        },
    };
    update(
        &mut app,
        Msg::Debug(DebugReply::Breakpoints(Ok(vec![
            bound(1, 3, 3),
            bound(2, 6, 7),
        ]))),
    );
    update(
        &mut app,
        at(
            2,
            SessionEvent::Debug(DebugEvent::Stopped {
                stop: 4,
                reason: StopReason::Breakpoint(1),
                site: Site {
                    file: FILE.into(),
                    line: 3,
                },
                fork: None,
                in_coroutine: false,
                condition_error: None,
                frames: vec![
                    frame(0, "add", FILE, Some(3), false),
                    frame(1, "main chunk", FILE, Some(8), false),
                    frame(2, "?", "[C]", None, true),
                ],
            }),
        ),
    );
    update(
        &mut app,
        Msg::Debug(DebugReply::Variables {
            stop: 4,
            frame: 0,
            result: Ok((
                vec![
                    var("a", "integer", "1", None),
                    var("b", "integer", "2", None),
                ],
                vec![var("t", "table", "table (2 entries)", Some(1))],
            )),
        }),
    );
    app
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[test]
fn stopped_screen() {
    let app = stopped();
    let screen = screen(&app);
    assert!(screen.contains("stopped at demo/s.lua:3 (breakpoint)"));
    assert_snapshot!(screen);
}

#[test]
fn stack_pane_with_a_table_expanded_and_an_expression() {
    let mut app = stopped();
    app.focus = Focus::Trace;
    // Frames 0..3, then a, b, t: the cursor on `t`, enter expands it.
    for _ in 0..5 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::Debug(DebugReply::Expanded {
            stop: 4,
            handle: 1,
            result: Ok(vec![
                var("list", "table", "table (2 entries)", Some(2)),
                var("name", "string", "\"scores\"", None),
            ]),
        }),
    );
    key(&mut app, KeyCode::Char('='));
    for c in "a + b".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::Debug(DebugReply::Evaluated {
            stop: 4,
            expr: "a + b".into(),
            result: Ok(var("a + b", "integer", "3", None)),
        }),
    );
    assert_snapshot!(screen(&app));
}
