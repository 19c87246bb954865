//! Unit tests of answering a batch: answers are held (and revisable) until the last
//! query of the pause is answered, then all go to the session at once; one key sends
//! the same answer to every query still waiting.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use std::path::PathBuf;

use super::pending::{QueryPhase, QueryStatus};
use super::unrecorded::HeldSend;
use super::*;
use crate::engine::{Metrics, SessionEvent};
use crate::testkit::{batch, query, started};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
fn alt(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT))
}
fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, key(c));
    }
}
fn clear_editor(app: &mut App) {
    let q = app.pending.current_mut().unwrap();
    q.set_editor_text("");
}

/// A batch of `n` verdict queries (pause 1), all for the person.
fn batch_of(n: usize) -> App {
    batch_with_source(n, None)
}

/// Like `batch_of`, in manual mode with `source` to forward to.
fn batch_with_source(n: usize, source: Option<&str>) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/vote.lua".into()),
        autostart: true,
        size: (100, 30),
        answer_source: source.map(str::to_string),
        ..Default::default()
    });
    let at = |seq, event| {
        Msg::Session(Stamped {
            seq,
            t_ms: seq * 100,
            event,
            metrics: Metrics::default(),
        })
    };
    update(&mut app, at(1, started("demo/vote.lua", json!({}))));
    let queries = (1..=n)
        .map(|i| {
            query(
                &format!("q-{i}"),
                &format!("claim {i}: PASS or FAIL?"),
                "demo/vote.lua",
                7,
            )
        })
        .collect();
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: batch(queries),
            },
        ),
    );
    app
}

fn sent(fx: &[Effect]) -> Vec<(String, String)> {
    fx.iter()
        .map(|f| match f {
            Effect::AnswerQuery { id, answer } => (id.clone(), answer.text.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn answers_are_held_and_revisable_until_the_last_is_sent() {
    let mut app = batch_of(3);
    typed(&mut app, "PASS");
    assert!(update(&mut app, ctrl('s')).is_empty(), "q-1 held");
    let q1 = &app.pending.queries[0];
    assert!(matches!(&q1.status, QueryStatus::Held(a) if a.text == "PASS"));
    assert_eq!(q1.phase(), QueryPhase::Held);
    assert!(app.message.as_deref().unwrap().contains("2 still waiting"));
    assert_eq!(
        app.state(),
        SessionState::Waiting,
        "nothing went to the session yet"
    );
    assert!(
        app.work_at_risk(),
        "a held answer is not sent: quitting asks"
    );
    assert_eq!(
        app.pending.current().unwrap().query.id,
        "q-2",
        "on to the next"
    );
    typed(&mut app, "FAIL");
    assert!(update(&mut app, ctrl('s')).is_empty(), "q-2 held");
    // Back to q-1: its editor still takes keys; ctrl-s replaces the held answer.
    update(&mut app, ctrl('p'));
    update(&mut app, ctrl('p'));
    assert_eq!(app.pending.current().unwrap().query.id, "q-1");
    assert!(app.editing());
    clear_editor(&mut app);
    typed(&mut app, "FAIL");
    assert!(update(&mut app, ctrl('s')).is_empty());
    assert!(app.message.as_deref().unwrap().contains("revised"));
    assert_eq!(app.pending.current().unwrap().query.id, "q-3");
    // The last one: all three go to the session, in the order asked.
    typed(&mut app, "PASS");
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(
        sent(&fx),
        vec![
            ("q-1".to_string(), "FAIL".to_string()),
            ("q-2".to_string(), "FAIL".to_string()),
            ("q-3".to_string(), "PASS".to_string()),
        ]
    );
    assert!(app
        .pending
        .queries
        .iter()
        .all(|q| q.status == QueryStatus::Sent));
    assert_eq!(app.state(), SessionState::Running);
}

#[test]
fn one_key_sends_the_same_answer_to_every_query_still_waiting() {
    let mut app = batch_of(6);
    typed(&mut app, "FAIL");
    update(&mut app, ctrl('s')); // q-1 held with its own answer
    typed(&mut app, "PASS");
    let fx = update(&mut app, alt('a'));
    let sent = sent(&fx);
    assert_eq!(sent.len(), 6, "{sent:?}");
    assert_eq!(
        sent[0],
        ("q-1".to_string(), "FAIL".to_string()),
        "q-1 keeps its own"
    );
    assert!(sent[1..].iter().all(|(_, text)| text == "PASS"));
    assert!(app.message.as_deref().unwrap().contains("5 queries"));
}

#[test]
fn send_to_all_needs_text() {
    let mut app = batch_of(2);
    assert!(update(&mut app, alt('a')).is_empty());
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("type the answer first"));
    assert!(app
        .pending
        .queries
        .iter()
        .all(|q| q.status == QueryStatus::ForYou));
}

#[test]
fn a_single_query_is_sent_at_once() {
    let mut app = batch_of(1);
    typed(&mut app, "PASS");
    assert_eq!(
        sent(&update(&mut app, ctrl('s'))),
        vec![("q-1".into(), "PASS".into())]
    );
}

#[test]
fn held_answers_go_when_the_last_waiting_query_is_forwarded() {
    let mut app = batch_with_source(2, Some("scripted"));
    typed(&mut app, "PASS");
    assert!(update(&mut app, ctrl('s')).is_empty(), "q-1 held");
    // q-2 goes to the source: nothing of the pause waits for the person any more, so
    // q-1's answer must not wait for the person either.
    let fx = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE)),
    );
    assert!(
        matches!(fx.as_slice(), [Effect::PersonAway(away), Effect::AskSource { query: q, .. }, Effect::AnswerQuery { id, answer }]
            if away == "q-2" && q.id == "q-2" && id == "q-1" && answer.text == "PASS"),
        "{fx:?}"
    );
    assert_eq!(app.pending.queries[0].status, QueryStatus::Sent);
}

#[test]
fn a_batch_answer_the_transcript_refused_comes_back_and_goes_again() {
    let mut app = batch_of(2);
    typed(&mut app, "PASS");
    update(&mut app, ctrl('s'));
    typed(&mut app, "FAIL");
    let fx = update(&mut app, ctrl('s'));
    let answers: Vec<(String, Answer)> = fx
        .into_iter()
        .map(|f| match f {
            Effect::AnswerQuery { id, answer } => (id, answer),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(answers.len(), 2);
    // The runtime's worker sends them in order; both are refused as unrecorded.
    for (id, answer) in &answers {
        let fx = update(
            &mut app,
            Msg::AnswerUnrecorded {
                send: HeldSend::Answer {
                    id: id.clone(),
                    answer: answer.clone(),
                },
                path: PathBuf::from("/x/t.jsonl"),
                error: format!("transcript /x/t.jsonl: write failed; {id} not acknowledged"),
            },
        );
        assert!(
            fx.is_empty(),
            "nothing goes before the person chooses: {fx:?}"
        );
    }
    assert!(matches!(app.overlay, Some(Overlay::Unrecorded)));
    for (id, text) in [("q-1", "PASS"), ("q-2", "FAIL")] {
        let q = app.pending.find(id).unwrap();
        assert_eq!(q.status, QueryStatus::ForYou, "{id} is the person's again");
        assert_eq!(q.answer_text(), text, "{id}'s text stays");
    }
    // Retry: both go again, in the order refused, with the answers as they were.
    let fx = update(&mut app, key('r'));
    let again: Vec<Effect> = answers
        .into_iter()
        .map(|(id, answer)| Effect::AnswerQuery { id, answer })
        .collect();
    assert_eq!(fx, again);
    assert!(app
        .pending
        .queries
        .iter()
        .all(|q| q.status == QueryStatus::Sent));
    assert!(app.overlay.is_none());
}
