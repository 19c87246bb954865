//! Snapshots of "nothing cut off silently": a prompt taller than its pane says how much
//! is below (and its end shows), long source lines end in `›` or wrap, the trace
//! shows what tells queries apart and its search box. Characters only, on a
//! `TestBackend`, built by feeding messages to `update`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::{update, App, AppOptions, Msg};
use alc_workbench::engine::{Metrics, SessionEvent, Stamped};
use alc_workbench::highlight::highlight_lua;
use alc_workbench::testkit::{query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/long.lua";
const SOURCE: &str = r#"local M = {}
function M.run(ctx)
  local first = alc.llm("Task: " .. ctx.task .. "\nPrevious: none. Think step by step, then answer in one sentence.")
  local second = alc.llm("Task: " .. ctx.task .. "\nPrevious: " .. first)
  return { first = first, second = second }
end
return M
"#;

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

/// Two queries asked one after the other; the second's prompt is 40 lines long.
fn app() -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({"task": "Why is the sky blue?"}),
        autostart: true,
        size: (100, 30),
        ..Default::default()
    });
    update(
        &mut app,
        Msg::SourceLoaded {
            file: FILE.into(),
            lines: highlight_lua(SOURCE, None),
        },
    );
    // The engine's figures on each event: from seq 3 on, q-1 is answered (its 13
    // tokens estimated: 41 characters of prompt, 8 of answer) after 0.5 s with the
    // person, which is not charged to the strategy.
    let at = |seq: u64, event| {
        let answered = u64::from(seq >= 3);
        Msg::Session(Stamped {
            seq,
            t_ms: seq * 500,
            event,
            metrics: Metrics {
                llm_calls: answered,
                estimated_calls: answered,
                prompt_tokens: 11 * answered,
                completion_tokens: 2 * answered,
                wall_ms: seq * 500,
                human_ms: 500 * answered,
                elapsed_ms: seq * 500 - 500 * answered,
                ..Metrics::default()
            },
        })
    };
    update(
        &mut app,
        at(1, started(FILE, json!({"task": "Why is the sky blue?"}))),
    );
    let task = "Task: Why is the sky blue?";
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", &format!("{task}\nPrevious: none"), FILE, 3)],
            },
        ),
    );
    update(
        &mut app,
        at(
            3,
            SessionEvent::Answered {
                id: "q-1".into(),
                answer: alc_workbench::engine::Answer::new(
                    "Rayleigh",
                    alc_workbench::engine::AnswerOrigin::Human,
                ),
            },
        ),
    );
    let long: Vec<String> = (1..=40).map(|i| format!("evidence line {i}")).collect();
    let prompt = format!("{task}\nPrevious: Rayleigh\n{}\nTHE END", long.join("\n"));
    update(
        &mut app,
        at(
            4,
            SessionEvent::Paused {
                pause: 2,
                queries: vec![query("q-2", &prompt, FILE, 4)],
            },
        ),
    );
    app
}

#[test]
fn a_tall_prompt_says_more_below_and_long_lines_end_in_a_marker() {
    assert_snapshot!(screen(&app()));
}

#[test]
fn the_end_of_a_tall_prompt_shows_and_source_lines_wrap() {
    let mut app = app();
    for _ in 0..10 {
        key(&mut app, KeyCode::PageDown);
    }
    key(&mut app, KeyCode::Tab); // pending → trace
    key(&mut app, KeyCode::Tab); // trace → budget
    key(&mut app, KeyCode::Tab); // budget → source
    key(&mut app, KeyCode::Char('w'));
    assert_snapshot!(screen(&app));
}

#[test]
fn the_trace_search_box() {
    let mut app = app();
    key(&mut app, KeyCode::Tab); // pending → trace
    key(&mut app, KeyCode::Char('/'));
    for c in "rayleigh".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_snapshot!(screen(&app));
}

/// A batch of three verdicts: q-1 answered and held (revisable), q-2 shown.
#[test]
fn a_held_answer_in_a_batch() {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        autostart: true,
        size: (100, 30),
        ..Default::default()
    });
    let at = |seq, event| {
        Msg::Session(Stamped {
            seq,
            t_ms: seq * 500,
            event,
            metrics: Metrics {
                wall_ms: seq * 500,
                elapsed_ms: seq * 500,
                ..Metrics::default()
            },
        })
    };
    update(&mut app, at(1, started(FILE, json!({}))));
    let queries = (1..=3)
        .map(|i| {
            query(
                &format!("q-{i}"),
                &format!("Claim {i}: PASS or FAIL?"),
                FILE,
                3,
            )
        })
        .collect();
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: alc_workbench::testkit::batch(queries),
            },
        ),
    );
    for c in "PASS".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
    );
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL)),
    );
    assert_snapshot!(screen(&app));
}

/// The picker filtered by what was typed, with each package's description.
#[test]
fn the_picker_filters_and_shows_descriptions() {
    use alc_workbench::app::picker::Choice;
    let package = |name: &str, description: &str| Choice {
        name: name.into(),
        description: Some(description.into()),
        package: true,
        input: Vec::new(),
    };
    let (mut app, _) = App::new(AppOptions {
        choices: vec![
            Choice::from("demo/cot.lua"),
            package("cot", "Iterative chain-of-thought, then a synthesis"),
            package(
                "panel",
                "Fork several strategies; a judge picks the best answer",
            ),
            package("reflect", "Draft, critique, revise"),
        ],
        size: (100, 30),
        ..Default::default()
    });
    for c in "strat".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_snapshot!(screen(&app));
}
