//! Snapshots of the screen when the transcript could not record an answer: the
//! question with the whole error and the three choices (keys from the keymap), the
//! path prompt after a failed move, and the status bar once the person went on
//! unrecorded. Built by feeding messages to `update`, drawn on a `TestBackend`.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::unrecorded::HeldSend;
use alc_workbench::app::{update, App, AppOptions, Effect, Msg};
use alc_workbench::engine::{SessionEvent, Stamped};
use alc_workbench::testkit::{query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const ERROR: &str =
    "transcript /home/me/.local/share/alc-workbench/transcripts/1700000000000-cot.jsonl: \
                     write failed: No space left on device (os error 28); the answer to q-1 \
                     was not acknowledged";

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

/// The person typed an answer and sent it; the session refused it, unrecorded.
fn refused() -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        autostart: true,
        size: (100, 30),
        recovery_dir: Some(PathBuf::from(
            "/home/me/.local/share/alc-workbench/transcripts",
        )),
        ..Default::default()
    });
    let at = |seq, event| {
        Msg::Session(Stamped {
            seq,
            t_ms: seq * 100,
            event,
            metrics: Default::default(),
        })
    };
    update(&mut app, at(1, started("demo/cot.lua", json!({}))));
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", "Why is the sky blue?", "demo/cot.lua", 3)],
            },
        ),
    );
    for c in "Rayleigh scattering.".chars() {
        update(&mut app, key(KeyCode::Char(c)));
    }
    let fx = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
    );
    let [Effect::AnswerQuery { id, answer }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    update(
        &mut app,
        Msg::AnswerUnrecorded {
            send: HeldSend::Answer {
                id: id.clone(),
                answer: answer.clone(),
            },
            path: PathBuf::from(
                "/home/me/.local/share/alc-workbench/transcripts/1700000000000-cot.jsonl",
            ),
            error: ERROR.into(),
        },
    );
    app
}

#[test]
fn the_question_shows_the_whole_error_and_the_choices() {
    let app = refused();
    let screen = screen(&app);
    // Every word of the error is on screen (wrapped), and each offered key works.
    let flat: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    for word in ERROR.split_whitespace() {
        assert!(flat.contains(word), "{word} missing:\n{screen}");
    }
    assert_snapshot!("unrecorded_choices", screen);
}

#[test]
fn the_path_prompt_shows_why_the_last_move_failed() {
    let mut app = refused();
    update(&mut app, key(KeyCode::Char('w')));
    let fx = update(&mut app, key(KeyCode::Enter));
    let [Effect::RedirectTranscript(path)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    update(
        &mut app,
        Msg::TranscriptRedirected {
            path: path.clone(),
            result: Err(format!(
                "transcript {}: create failed: Permission denied (os error 13); the \
                 transcript stays at /home/me/…/1700000000000-cot.jsonl",
                path.display()
            )),
        },
    );
    assert_snapshot!("unrecorded_path_prompt", screen(&app));
}

#[test]
fn going_on_unrecorded_is_said_in_the_status_bar() {
    let mut app = refused();
    update(&mut app, key(KeyCode::Char('u')));
    update(&mut app, Msg::RecordingStopped);
    let screen = screen(&app);
    assert!(screen.contains("not recording"), "{screen}");
    assert_snapshot!("unrecorded_status_bar", screen);
}
