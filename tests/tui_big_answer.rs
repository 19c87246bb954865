//! A large answer on screen: a review draft over the editor's limit is shown read-only
//! in the Answer box (its size and keys in the title, a note row, the rows on screen,
//! "more below" / "above" on the bottom border), from its start; End shows its end;
//! ctrl-s sends all of it. Built by feeding messages to `update`, drawn on a
//! `TestBackend`. (Frame and keystroke times with 10 MB are in benches/tui.rs.)

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::large::LARGE_ANSWER_BYTES;
use alc_workbench::app::{update, App, AppOptions, Effect, Mode, Msg};
use alc_workbench::engine::{Answer, AnswerOrigin, Metrics, SessionEvent, Stamped};
use alc_workbench::testkit::{query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/long.lua";

fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq,
        event,
        metrics: Metrics::default(),
    })
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

/// A review-mode session whose provider drafted `text` for q-1.
fn drafted(text: &str) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({}),
        autostart: true,
        mode: Mode::Review,
        answer_source: Some("local".into()),
        source_is_provider: true,
        size: (100, 30),
        ..Default::default()
    });
    update(&mut app, at(1, started(FILE, json!({}))));
    let queries = vec![query("q-1", "Write the whole report.", FILE, 1)];
    update(&mut app, at(2, SessionEvent::Paused { pause: 1, queries }));
    update(
        &mut app,
        Msg::SourceReply {
            request: 1,
            id: "q-1".into(),
            result: Ok(Answer::new(text.to_string(), AnswerOrigin::Provider)),
        },
    );
    assert!(app.editing());
    app
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

/// A report of numbered paragraphs, over the limit, with words to wrap.
fn report() -> String {
    let text = (1..=4_000)
        .map(|i| {
            format!(
                "Paragraph {i}: the measurements agree with the model within the error \
                 bars, so nothing changes."
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.len() > LARGE_ANSWER_BYTES);
    text
}

#[test]
fn a_large_draft_is_shown_read_only_from_its_start() {
    let text = report();
    let mut app = drafted(&text);
    assert_snapshot!("large_draft_read_only", screen(&app));

    update(&mut app, key(KeyCode::End, KeyModifiers::NONE));
    let end = screen(&app);
    assert!(
        end.contains("Paragraph 4000: the measurements agree"),
        "{end}"
    );
    assert!(end.contains("above"), "{end}");
    assert!(!end.contains("Paragraph 1: "), "{end}");

    // Accepted as it came: every byte of it goes to the session.
    let fx = update(&mut app, key(KeyCode::Char('s'), KeyModifiers::CONTROL));
    match fx.as_slice() {
        [Effect::AnswerQuery { id, answer }] => {
            assert_eq!(id, "q-1");
            assert_eq!(answer.text, text);
            assert_eq!(answer.source, AnswerOrigin::Provider);
        }
        other => panic!("expected the answer, got {other:?}"),
    }
}

#[test]
fn a_draft_under_the_limit_stays_in_the_editor() {
    let app = drafted("A short draft, edited in place.");
    let text = screen(&app);
    assert!(text.contains("A short draft, edited in place."), "{text}");
    assert!(!text.contains("read-only"), "{text}");
}
