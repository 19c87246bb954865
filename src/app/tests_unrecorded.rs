//! Unit tests of the choice after an answer the transcript could not record: the text
//! stays, the error is shown, and retry, record elsewhere and go on unrecorded each
//! ask the runtime for the right thing, in the right order.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::pending::QueryStatus;
use super::unrecorded::{HeldSend, STOP_REASON};
use super::*;
use crate::engine::{Metrics, SessionEvent};
use crate::testkit::{completed, query, started};

const ERROR: &str = "transcript /x/t.jsonl: write failed: No space left on device (os error 28); \
                     the answer to q-1 was not acknowledged";

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn event(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 1000,
        event,
        metrics: Default::default(),
    })
}

/// A session waiting on q-1, with "my answer" typed and sent, and the session's
/// refusal back: the transcript question is open.
fn refused() -> (App, Answer) {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        autostart: true,
        size: (100, 30),
        recovery_dir: Some(PathBuf::from("/data/transcripts")),
        ..Default::default()
    });
    update(&mut app, event(1, started("demo/cot.lua", json!({}))));
    update(
        &mut app,
        event(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", "Why?", "demo/cot.lua", 3)],
            },
        ),
    );
    for c in "my answer".chars() {
        update(&mut app, key(c));
    }
    let fx = update(&mut app, ctrl('s'));
    let [Effect::AnswerQuery { id, answer }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let answer = answer.clone();
    let fx = update(
        &mut app,
        Msg::AnswerUnrecorded {
            send: HeldSend::Answer {
                id: id.clone(),
                answer: answer.clone(),
            },
            path: PathBuf::from("/x/t.jsonl"),
            error: ERROR.into(),
        },
    );
    assert!(fx.is_empty(), "nothing is sent before the person chooses");
    (app, answer)
}

fn editor_text(app: &App) -> String {
    app.pending.find("q-1").unwrap().answer_text()
}

#[test]
fn the_text_stays_and_the_whole_error_is_shown() {
    let (app, _) = refused();
    assert!(matches!(app.overlay, Some(Overlay::Unrecorded)));
    let q = app.pending.find("q-1").unwrap();
    assert_eq!(q.status, QueryStatus::ForYou);
    assert_eq!(editor_text(&app), "my answer");
    assert_eq!(
        q.note.as_deref(),
        Some(&*format!("not recorded, so not sent: {ERROR}"))
    );
    assert!(app.message.as_deref().unwrap().contains("not recorded"));
    let trouble = app.unrecorded.as_ref().unwrap();
    assert_eq!(trouble.error, ERROR);
    assert_eq!(trouble.held.len(), 1);
    assert_eq!(app.state(), SessionState::Waiting);
}

#[test]
fn typing_does_not_reach_the_editor_while_the_question_is_open() {
    let (mut app, _) = refused();
    for c in "xyz".chars() {
        assert!(update(&mut app, key(c)).is_empty());
    }
    assert_eq!(editor_text(&app), "my answer");
    assert!(matches!(app.overlay, Some(Overlay::Unrecorded)));
}

#[test]
fn retry_sends_the_same_answer_again() {
    let (mut app, answer) = refused();
    let fx = update(&mut app, key('r'));
    assert_eq!(
        fx,
        [Effect::AnswerQuery {
            id: "q-1".into(),
            answer: answer.clone()
        }]
    );
    assert!(app.overlay.is_none());
    assert!(app.unrecorded.is_none());
    assert_eq!(app.pending.find("q-1").unwrap().status, QueryStatus::Sent);
    // Refused again: the question comes back, the text still there.
    update(
        &mut app,
        Msg::AnswerUnrecorded {
            send: HeldSend::Answer {
                id: "q-1".into(),
                answer,
            },
            path: PathBuf::from("/x/t.jsonl"),
            error: ERROR.into(),
        },
    );
    assert!(matches!(app.overlay, Some(Overlay::Unrecorded)));
    assert_eq!(editor_text(&app), "my answer");
}

#[test]
fn record_elsewhere_asks_for_a_path_then_moves_then_sends() {
    let (mut app, answer) = refused();
    assert!(update(&mut app, key('w')).is_empty());
    let Some(Overlay::TranscriptPath { editor, error }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(editor.lines(), ["/data/transcripts/t-recovered.jsonl"]);
    assert!(error.is_none());
    // Typing edits the path (the cursor is at its end).
    for _ in 0.."recovered.jsonl".len() {
        update(&mut app, code(KeyCode::Backspace));
    }
    for c in "b.jsonl".chars() {
        update(&mut app, key(c));
    }
    let fx = update(&mut app, code(KeyCode::Enter));
    let target = PathBuf::from("/data/transcripts/t-b.jsonl");
    assert_eq!(fx, [Effect::RedirectTranscript(target.clone())]);
    assert!(app.unrecorded.as_ref().unwrap().working.is_some());

    // The move failed: the prompt shows why, nothing is sent.
    let fx = update(
        &mut app,
        Msg::TranscriptRedirected {
            path: target.clone(),
            result: Err("transcript /data/transcripts/t-b.jsonl: create failed: denied".into()),
        },
    );
    assert!(fx.is_empty());
    let Some(Overlay::TranscriptPath { error, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert!(error.as_deref().unwrap().contains("create failed: denied"));

    // Then it worked: the held answer goes out.
    let fx = update(
        &mut app,
        Msg::TranscriptRedirected {
            path: target,
            result: Ok(()),
        },
    );
    assert_eq!(
        fx,
        [Effect::AnswerQuery {
            id: "q-1".into(),
            answer
        }]
    );
    assert!(app.overlay.is_none());
    assert!(app.message.as_deref().unwrap().contains("t-b.jsonl"));
}

#[test]
fn esc_in_the_path_prompt_goes_back_to_the_choices() {
    let (mut app, _) = refused();
    update(&mut app, key('w'));
    assert!(update(&mut app, code(KeyCode::Esc)).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::Unrecorded)));
}

#[test]
fn an_empty_path_is_refused_in_the_prompt() {
    let (mut app, _) = refused();
    update(&mut app, key('w'));
    if let Some(Overlay::TranscriptPath { editor, .. }) = &mut app.overlay {
        editor.select_all();
        editor.cut();
    }
    assert!(update(&mut app, code(KeyCode::Enter)).is_empty());
    let Some(Overlay::TranscriptPath { error, .. }) = &app.overlay else {
        panic!()
    };
    assert!(error.is_some());
}

#[test]
fn going_on_unrecorded_stops_recording_first_then_sends() {
    let (mut app, answer) = refused();
    let fx = update(&mut app, key('u'));
    assert_eq!(
        fx,
        [Effect::StopRecording {
            reason: STOP_REASON.into()
        }]
    );
    // A second key while it is under way does nothing.
    assert!(update(&mut app, key('r')).is_empty());
    let fx = update(&mut app, Msg::RecordingStopped);
    assert_eq!(
        fx,
        [Effect::AnswerQuery {
            id: "q-1".into(),
            answer
        }]
    );
    assert!(app.session.recording_stopped);
    assert!(app.overlay.is_none());
}

#[test]
fn quitting_from_the_question_asks_and_no_brings_the_question_back() {
    let (mut app, _) = refused();
    assert!(update(&mut app, key('q')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::ConfirmQuit)));
    update(&mut app, key('n'));
    assert!(matches!(app.overlay, Some(Overlay::Unrecorded)));
    let fx = update(&mut app, key('q'));
    assert!(fx.is_empty());
    let fx = update(&mut app, key('y'));
    assert_eq!(fx, [Effect::Cancel, Effect::Quit]);
}

#[test]
fn the_question_closes_when_the_session_ends() {
    let (mut app, _) = refused();
    update(
        &mut app,
        event(3, completed(json!("done"), Metrics::default())),
    );
    assert!(app.unrecorded.is_none());
    assert!(!matches!(app.overlay, Some(Overlay::Unrecorded)));
}

#[test]
fn the_choices_are_in_the_keymap_and_its_help() {
    let rows = app_help_rows();
    for (action, name) in [
        (Action::RetryAnswer, "retry_answer"),
        (Action::RecordElsewhere, "record_elsewhere"),
        (Action::GoUnrecorded, "go_unrecorded"),
    ] {
        assert_eq!(action.name(), name);
        assert_eq!(Action::from_name(name), Some(action));
        assert!(
            rows.iter().any(
                |(ctx, _, desc)| *ctx == "answer not recorded" && *desc == action.description()
            ),
            "{name} is in the help"
        );
    }
}

fn app_help_rows() -> Vec<(&'static str, String, &'static str)> {
    Keymap::default().help_rows()
}
