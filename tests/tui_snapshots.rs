//! Snapshots of the screen (characters only) in the main states: waiting for an
//! answer, a batch "k of N", a failure with its error line, a
//! finished session's result, overlays, and a terminal too small. Built by feeding
//! messages to `update`, drawn on a `TestBackend`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::{update, App, AppOptions, Msg};
use alc_workbench::engine::{
    Answer, AnswerOrigin, LogLevel, Metrics, Query, SessionEvent, Stamped,
};
use alc_workbench::highlight::highlight_lua;
use alc_workbench::testkit::{batch, completed, failed, query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/cot.lua";
const SOURCE: &str = r#"-- Chain of thought: ask, then refine.
local M = {}

function M.run(ctx)
  local depth = ctx.depth or 3
  local chain = {}
  alc.log("info", "starting")
  for i = 1, depth do
    alc.progress(i, depth, "step " .. i)
    local prev = chain[#chain] or ctx.task
    chain[#chain + 1] = alc.llm(
      "Task: " .. ctx.task .. "\nPrevious: " .. prev,
      { system = "You are a deep thinker.", max_tokens = 200 }
    )
  end
  local votes = alc.llm_batch({ "Vote A", "Vote B", "Vote C" })
  return { chain = chain, votes = votes }
end

return M
"#;

thread_local! {
    /// What the fake engine has counted so far in this test (each test runs on its own
    /// thread); `at` stamps every event with it, as the engine does.
    static ENGINE: std::cell::RefCell<Metrics> = Default::default();
}

/// Changes the fake engine's counts (calls answered, tokens, the person's time).
fn engine_counts(change: impl FnOnce(&mut Metrics)) {
    ENGINE.with(|m| change(&mut m.borrow_mut()));
}

/// The fake engine's figures at `t_ms`.
fn figures(t_ms: u64) -> Metrics {
    ENGINE.with(|m| {
        let mut m = m.borrow().clone();
        m.wall_ms = t_ms;
        m.elapsed_ms = t_ms.saturating_sub(m.human_ms);
        m
    })
}

fn at(seq: u64, t_ms: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms,
        event,
        metrics: figures(t_ms),
    })
}

fn app(width: u16, height: u16) -> App {
    engine_counts(|m| *m = Metrics::default());
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({"task": "Why is the sky blue?", "budget": {"max_llm_calls": 10, "max_elapsed_ms": 60000, "max_tokens": 4000}}),
        autostart: true,
        size: (width, height),
        ..Default::default()
    });
    update(
        &mut app,
        Msg::SourceLoaded {
            file: FILE.into(),
            lines: highlight_lua(SOURCE, Some("base16-ocean.dark")),
        },
    );
    update(
        &mut app,
        at(1, 0, started(FILE, json!({"task": "Why is the sky blue?"}))),
    );
    update(
        &mut app,
        at(
            2,
            120,
            SessionEvent::Log {
                level: LogLevel::Info,
                msg: "starting".into(),
            },
        ),
    );
    update(
        &mut app,
        at(
            3,
            130,
            SessionEvent::Progress {
                step: 1,
                total: 3,
                msg: Some("step 1".into()),
            },
        ),
    );
    app
}

fn cot_query(id: &str) -> Query {
    let mut q = query(id, "Task: Why is the sky blue?\nPrevious: Why is the sky blue?\n\nThink step by step and explain the physics in two or three sentences, naming the effect.", FILE, 11);
    q.system = Some("You are a deep thinker.".into());
    q
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    if w == 0 {
        return String::new(); // TestBackend cannot print a zero-width buffer
    }
    terminal.backend().to_string()
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        update(
            app,
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

fn waiting() -> App {
    let mut app = app(100, 30);
    update(
        &mut app,
        at(
            4,
            1_200,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![cot_query("q-1")],
            },
        ),
    );
    // The query was ready for the person at 1.2 s: the engine counts the rest as theirs.
    engine_counts(|m| m.human_ms = 12_400 - 1_200);
    update(
        &mut app,
        Msg::Tick {
            now_ms: 12_400,
            metrics: Some(figures(12_400)),
        },
    );
    typed(
        &mut app,
        "Rayleigh scattering: shorter wavelengths scatter more.",
    );
    app
}

#[test]
fn waiting_for_an_answer_full_screen() {
    assert_snapshot!(screen(&waiting()));
}

#[test]
fn batch_k_of_n() {
    let mut app = app(100, 30);
    let mut answer = Answer::new("Light scatters.", AnswerOrigin::Human);
    answer.latency_ms = 2000;
    update(
        &mut app,
        at(
            4,
            1_200,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![cot_query("q-1")],
            },
        ),
    );
    // The engine's count once q-1 is answered: the person's 2.2 s are theirs, the
    // tokens estimated from the texts.
    engine_counts(|m| {
        m.llm_calls = 1;
        m.estimated_calls = 1;
        m.prompt_tokens = 43;
        m.completion_tokens = 4;
        m.human_ms = 2_200;
    });
    update(
        &mut app,
        at(
            5,
            3_400,
            SessionEvent::Answered {
                id: "q-1".into(),
                answer,
            },
        ),
    );
    update(&mut app, at(6, 3_400, SessionEvent::Resumed { pause: 1 }));
    update(
        &mut app,
        at(
            7,
            3_500,
            SessionEvent::Paused {
                pause: 2,
                queries: batch(vec![
                    query("q-2", "Vote A", FILE, 16),
                    query("q-3", "Vote B", FILE, 16),
                    query("q-4", "Vote C", FILE, 16),
                ]),
            },
        ),
    );
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
    );
    typed(&mut app, "B wins");
    assert_snapshot!(screen(&app));
}

#[test]
fn failed_with_the_error_line_marked() {
    let mut app = app(100, 30);
    update(
        &mut app,
        at(
            4,
            1_500,
            failed(
                "demo/cot.lua:10: attempt to concatenate a nil value (field 'task')",
                FILE,
                10,
            ),
        ),
    );
    assert_snapshot!("failed", screen(&app));
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE)),
    );
    assert_snapshot!("failed_result", screen(&app));
}

#[test]
fn finished_with_the_result() {
    let mut app = app(100, 30);
    update(
        &mut app,
        at(
            4,
            1_200,
            SessionEvent::Stat {
                key: "depth".into(),
                value: json!(3),
            },
        ),
    );
    let metrics = Metrics {
        llm_calls: 6,
        prompt_tokens: 900,
        completion_tokens: 350,
        estimated_calls: 6,
        wall_ms: 45_000,
        human_ms: 40_000,
        elapsed_ms: 5_000,
        ..Default::default()
    };
    update(
        &mut app,
        at(
            5,
            45_000,
            completed(
                json!({"chain": ["Light scatters.", "Blue scatters most."], "votes": ["A", "B", "B"]}),
                metrics,
            ),
        ),
    );
    assert_snapshot!(screen(&app));
}

#[test]
fn help_overlay_lists_the_keymap() {
    let mut app = app(100, 40);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT)),
    );
    assert_snapshot!(screen(&app));
}

#[test]
fn ctx_editor_with_invalid_json() {
    let mut app = app(100, 30);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE)),
    );
    update(&mut app, Msg::Paste("oops".into()));
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
    );
    assert_snapshot!(screen(&app));
}

#[test]
fn picker_and_quit_confirmation() {
    let (mut app, _) = App::new(AppOptions {
        choices: vec![
            "demo/cot.lua".into(),
            "demo/vote.lua".into(),
            "cot".into(),
            "reflect".into(),
        ],
        size: (80, 20),
        ..Default::default()
    });
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
    );
    assert_snapshot!("picker", screen(&app));
    let mut app = waiting();
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_snapshot!("confirm_quit", screen(&app));
}

#[test]
fn trace_event_overlay() {
    let mut app = waiting();
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
    );
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_snapshot!(screen(&app));
}

#[test]
fn too_small_and_resizing_never_panics() {
    let mut app = waiting();
    for (w, h) in [
        (20, 6),
        (1, 1),
        (0, 0),
        (49, 13),
        (50, 14),
        (30, 40),
        (200, 8),
        (60, 15),
    ] {
        update(&mut app, Msg::Resize(w, h));
        let _ = screen(&app);
    }
    update(&mut app, Msg::Resize(20, 6));
    assert_snapshot!(screen(&app));
}
