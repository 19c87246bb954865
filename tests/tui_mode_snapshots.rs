//! Snapshots of the screen (characters only) with a provider: a review draft in the
//! editor, streaming text arriving, a batch with mixed per-query states, and the status
//! bar in AUTO. Built by feeding messages to `update`, drawn on a `TestBackend`.

use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::answer::SourceError;
use alc_workbench::app::{update, App, AppOptions, Mode, Msg};
use alc_workbench::engine::{Answer, AnswerOrigin, Metrics, Query, SessionEvent, Stamped, Usage};
use alc_workbench::highlight::highlight_lua;
use alc_workbench::testkit::{batch, query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/sky.lua";
const SOURCE: &str = r#"-- Ask why, then vote.
local why = alc.llm(
  "Task: " .. ctx.task .. "\nExplain the physics in two sentences.",
  { system = "You are a careful physicist.", max_tokens = 200 }
)
local votes = alc.llm_batch({ "Vote A", "Vote B", "Vote C", "Vote D" })
return { why = why, votes = votes }
"#;

/// An event as the engine stamps it; nothing answered yet, so its figures are the
/// clock alone.
fn at(seq: u64, t_ms: u64, event: SessionEvent) -> Msg {
    let metrics = Metrics {
        wall_ms: t_ms,
        elapsed_ms: t_ms,
        ..Metrics::default()
    };
    Msg::Session(Stamped {
        seq,
        t_ms,
        event,
        metrics,
    })
}

/// A running session in `mode`, with the provider "local".
fn app(mode: Mode) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({"task": "Why is the sky blue?", "budget": {"max_llm_calls": 10}}),
        autostart: true,
        mode,
        answer_source: Some("local".into()),
        source_is_provider: true,
        size: (100, 30),
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
    app
}

fn why_query() -> Query {
    let mut q = query(
        "q-1",
        "Task: Why is the sky blue?\nExplain the physics in two sentences.",
        FILE,
        2,
    );
    q.system = Some("You are a careful physicist.".into());
    q
}

fn paused(app: &mut App, queries: Vec<Query>) {
    update(
        app,
        at(2, 1_200, SessionEvent::Paused { pause: 1, queries }),
    );
}

fn stream(app: &mut App, id: &str, text: &str) {
    update(
        app,
        Msg::StreamText {
            request: 1,
            id: id.into(),
            text: text.into(),
        },
    );
}

fn reply(app: &mut App, id: &str, result: Result<Answer, SourceError>) {
    update(
        app,
        Msg::SourceReply {
            request: 1,
            id: id.into(),
            result,
        },
    );
}

fn model_answer(text: &str) -> Answer {
    Answer {
        finish: None,
        served_model: None,
        text: text.into(),
        source: AnswerOrigin::Provider,
        model: Some("smollm2".into()),
        usage: Some(Usage {
            prompt_tokens: 20,
            completion_tokens: 18,
        }),
        latency_ms: 900,
        provider: None,
    }
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

#[test]
fn review_draft_in_the_editor() {
    let mut app = app(Mode::Review);
    paused(&mut app, vec![why_query()]);
    stream(&mut app, "q-1", "Air molecules scatter ");
    reply(
        &mut app,
        "q-1",
        Ok(model_answer(
            "Air molecules scatter short (blue) wavelengths far more than long ones:\nRayleigh scattering.",
        )),
    );
    assert_snapshot!(screen(&app));
}

#[test]
fn streaming_text_arriving() {
    let mut app = app(Mode::Auto);
    paused(&mut app, vec![why_query()]);
    for piece in [
        "Sunlight ",
        "meets air ",
        "molecules much smaller ",
        "than its wavelen",
    ] {
        stream(&mut app, "q-1", piece);
    }
    assert_snapshot!(screen(&app));
}

#[test]
fn batch_with_mixed_states() {
    let mut app = app(Mode::Auto);
    let votes = ["Vote A", "Vote B", "Vote C", "Vote D"];
    paused(
        &mut app,
        batch(
            votes
                .iter()
                .enumerate()
                .map(|(i, v)| query(&format!("q-{}", i + 2), v, FILE, 6))
                .collect(),
        ),
    );
    stream(&mut app, "q-3", "B, because");
    reply(&mut app, "q-4", Ok(model_answer("C")));
    reply(
        &mut app,
        "q-5",
        Err(SourceError::Failed(
            "HTTP 503 Service Unavailable (after 3 retries)".into(),
        )),
    );
    assert_snapshot!(screen(&app));
}

#[test]
fn status_bar_in_auto() {
    let mut app = app(Mode::Auto);
    paused(&mut app, vec![why_query()]);
    let screen = screen(&app);
    assert_snapshot!(screen);
    let status = screen.lines().last().unwrap();
    assert!(
        status.contains(" AUTO ") && status.contains("local"),
        "{status}"
    );
}

/// Issue 11: a draft the model cut off at its output limit says so in the Answer
/// box's title and above the editor, and the reviewer reads it from its start.
#[test]
fn cut_off_draft_is_marked() {
    let mut app = app(Mode::Review);
    let mut q = why_query();
    q.max_tokens_capped = Some(12);
    paused(&mut app, vec![q]);
    let mut cut = model_answer(
        "Air molecules scatter short (blue) wavelengths far more than long ones,\nso the",
    );
    cut.finish = Some("length".into());
    reply(&mut app, "q-1", Ok(cut));
    let screen = screen(&app);
    assert_snapshot!(screen);
    assert!(screen.contains("✂ cut off"), "{screen}");
    assert!(
        screen.contains("max 12 tok (budget; asked 200)"),
        "{screen}"
    );
}

/// An answer sent in auto mode that was cut off is marked in the trace.
#[test]
fn cut_off_answer_in_the_trace() {
    let mut app = app(Mode::Auto);
    paused(&mut app, vec![why_query()]);
    let mut cut = model_answer("Air molecules scatter short (blue)");
    cut.finish = Some("length".into());
    update(
        &mut app,
        at(
            3,
            2_000,
            SessionEvent::Answered {
                id: "q-1".into(),
                answer: cut,
            },
        ),
    );
    let screen = screen(&app);
    assert_snapshot!(screen);
    assert!(
        screen.lines().any(|l| l.contains("q-1 provider ✂")),
        "{screen}"
    );
}
