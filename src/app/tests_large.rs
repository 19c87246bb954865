//! Unit tests of large answers: a paste or a review draft over `LARGE_ANSWER_BYTES` is
//! kept out of the editor and shown read-only; ctrl-s sends all of it (nothing lost),
//! ctrl-r rejects the draft or undoes the paste, ctrl-e edits it anyway; keys scroll it
//! and never type into it. Smaller answers keep the editor as it was.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use serde_json::json;

use super::large::LARGE_ANSWER_BYTES;
use super::pending::{PendingQuery, QueryStatus};
use super::*;
use crate::engine::{AnswerOrigin, SessionEvent};
use crate::testkit::{query, started};

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
        metrics: Metrics::default(),
    })
}

/// A session waiting on q-1 for the person; review mode hands it to "local" first.
fn waiting(mode: Mode) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        ctx: json!({}),
        autostart: true,
        mode,
        answer_source: Some("local".into()),
        source_is_provider: true,
        size: (100, 30),
        ..Default::default()
    });
    update(&mut app, event(1, started("demo/cot.lua", json!({}))));
    let queries = vec![query("q-1", "Write it all out.", "demo/cot.lua", 1)];
    update(
        &mut app,
        event(2, SessionEvent::Paused { pause: 1, queries }),
    );
    app
}

fn current(app: &App) -> &PendingQuery {
    app.pending.current().expect("a query is shown")
}

/// Numbered lines, more than the threshold in all, each one findable.
fn big_text() -> String {
    let text = (0..LARGE_ANSWER_BYTES / 30)
        .map(|i| format!("line {i:>7} of a long answer, padded"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.len() > LARGE_ANSWER_BYTES);
    text
}

fn sent(fx: &[Effect]) -> &Answer {
    match fx {
        [Effect::AnswerQuery { answer, .. }] => answer,
        other => panic!("expected one answer, got {other:?}"),
    }
}

#[test]
fn a_large_paste_is_shown_read_only_and_sent_whole() {
    let mut app = waiting(Mode::Manual);
    assert!(app.editing());
    for c in "Dear reader,".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Enter));
    let big = big_text();
    update(&mut app, Msg::Paste(big.clone()));
    let q = current(&app);
    let large = q.large.as_ref().expect("the answer is large");
    assert_eq!(large.text, format!("Dear reader,\n{big}"));
    assert_eq!(q.editor.lines(), [""], "the editor does not hold it");
    let message = app.message.clone().unwrap();
    assert!(message.contains("shown read-only"), "{message}");
    assert!(message.contains("ctrl-e edits it"), "{message}");

    // Typing and pasting do not change it (and say why); nothing is inserted.
    update(&mut app, key('x'));
    update(&mut app, code(KeyCode::Backspace));
    let message = app.message.clone().unwrap();
    assert!(
        message.contains("answer is read-only here: ctrl-e edits it (slowly), ctrl-s sends it"),
        "{message}"
    );
    update(&mut app, Msg::Paste("more".into()));
    assert!(app.message.clone().unwrap().starts_with("paste not added"));
    assert_eq!(current(&app).answer_text(), format!("Dear reader,\n{big}"));

    // ctrl-s sends all of it, exactly.
    let fx = update(&mut app, ctrl('s'));
    let answer = sent(&fx);
    assert_eq!(answer.text, format!("Dear reader,\n{big}"));
    assert_eq!(answer.source, AnswerOrigin::Human);
}

#[test]
fn ctrl_r_undoes_the_paste_and_keeps_what_was_typed() {
    let mut app = waiting(Mode::Manual);
    for c in "kept".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Left)); // the paste goes where the cursor is
    update(&mut app, Msg::Paste(big_text()));
    let large = current(&app).large.as_ref().unwrap();
    assert!(large.text.starts_with("kepline") && large.text.ends_with("paddedt"));
    update(&mut app, ctrl('r'));
    let q = current(&app);
    assert!(q.large.is_none());
    assert_eq!(q.answer_text(), "kept");
    assert_eq!(q.editor.cursor(), (0, 3), "the editor as it was");
    assert!(q.note.as_deref().unwrap().contains("paste undone"));
    // Without a large answer ctrl-r is the editor's again (redo): nothing to redo.
    update(&mut app, ctrl('r'));
    assert_eq!(current(&app).answer_text(), "kept");
}

#[test]
fn a_large_draft_is_accepted_as_it_came_or_rejected() {
    let mut app = waiting(Mode::Review);
    let big = big_text();
    let mut draft = Answer::new(big.clone(), AnswerOrigin::Provider);
    draft.model = Some("smollm2".into());
    update(
        &mut app,
        Msg::SourceReply {
            request: 1,
            id: "q-1".into(),
            result: Ok(draft),
        },
    );
    assert!(app.editing());
    let large = current(&app).large.as_ref().expect("large");
    assert_eq!((large.scroll, large.text.len()), (0, big.len()));

    let mut rejected = app.clone();
    update(&mut rejected, ctrl('r'));
    let q = current(&rejected);
    assert!(q.large.is_none() && q.draft.is_none());
    assert_eq!(q.answer_text(), "");

    let fx = update(&mut app, ctrl('s'));
    let answer = sent(&fx);
    assert_eq!(answer.text, big, "nothing lost");
    assert_eq!(answer.source, AnswerOrigin::Provider, "accepted as it came");
    assert_eq!(answer.model.as_deref(), Some("smollm2"));
}

#[test]
fn ctrl_e_edits_it_in_the_editor_anyway_from_its_start() {
    let mut app = waiting(Mode::Manual);
    // A small answer: ctrl-e is the editor's (end of line).
    for c in "ab".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Home));
    update(&mut app, ctrl('e'));
    update(&mut app, key('c'));
    assert_eq!(current(&app).answer_text(), "abc");

    let big = big_text();
    update(&mut app, Msg::Paste(big.clone()));
    update(&mut app, ctrl('e'));
    let message = app.message.clone().unwrap();
    assert!(message.contains("slow"), "{message}");
    assert!(current(&app).large.is_none());
    assert_eq!(current(&app).answer_text(), format!("abc{big}"));
    update(&mut app, key('>'));
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(sent(&fx).text, format!(">abc{big}"));
}

#[test]
fn keys_and_the_wheel_scroll_a_large_answer() {
    let mut app = waiting(Mode::Manual);
    update(&mut app, Msg::Paste(big_text()));
    let scroll = |app: &App| current(app).large.as_ref().unwrap().scroll;
    update(&mut app, code(KeyCode::Down));
    update(&mut app, code(KeyCode::Down));
    assert_eq!(scroll(&app), 2);
    update(&mut app, code(KeyCode::Up));
    assert_eq!(scroll(&app), 1);
    update(&mut app, code(KeyCode::End));
    // The box's text rows: inside its borders, below the read-only note.
    let editor = app.layout().unwrap().editor;
    let width = editor.width - 2;
    let note = wrap::wrap(&large::note(&app), width).len();
    assert!(note >= 2, "the note wraps in a 100-column screen");
    let height = usize::from(editor.height - 2) - note;
    let lines = big_text().lines().count();
    let (first, rows, total) = current(&app).large.as_ref().unwrap().visible(width, height);
    assert_eq!((first + height, total), (lines, lines), "at the end");
    assert_eq!(rows.last(), big_text().lines().last().as_ref());
    let end = scroll(&app);
    assert_eq!(end, lines - height);
    update(&mut app, code(KeyCode::Down));
    assert_eq!(scroll(&app), end, "kept at the end");
    update(&mut app, code(KeyCode::Home));
    assert_eq!(scroll(&app), 0);
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: editor.x + 3,
            row: editor.y + 3,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(&mut app, wheel(MouseEventKind::ScrollDown));
    assert_eq!(scroll(&app), 3);
    update(&mut app, wheel(MouseEventKind::ScrollUp));
    assert_eq!(scroll(&app), 0);
}

#[test]
fn a_small_paste_still_goes_into_the_editor() {
    let mut app = waiting(Mode::Manual);
    let text = "x".repeat(LARGE_ANSWER_BYTES);
    update(&mut app, Msg::Paste(text.clone()));
    let q = current(&app);
    assert!(q.large.is_none());
    assert_eq!(q.answer_text(), text);
    assert_eq!(q.status, QueryStatus::ForYou);
}
