//! Unit tests of where keys go: nothing reaches a hidden editor (too-small notice,
//! overlays), destructive keys ask first while a query waits, and pasted line breaks
//! (bracketed or typed) arrive as they were meant.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::*;
use crate::engine::Metrics;
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

/// A running session of demo/cot.lua on a `w`x`h` terminal, with q-1 waiting.
fn waiting(w: u16, h: u16) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        choices: vec!["demo/cot.lua".into(), "demo/other.lua".into()],
        autostart: true,
        size: (w, h),
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
    update(&mut app, at(1, started("demo/cot.lua", json!({}))));
    update(
        &mut app,
        at(
            2,
            crate::engine::SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", "Why?", "demo/cot.lua", 3)],
            },
        ),
    );
    assert_eq!(app.state(), SessionState::Waiting);
    app
}

fn editor_text(app: &App) -> String {
    app.pending.current().unwrap().answer_text()
}

#[test]
fn keys_on_the_too_small_notice_never_reach_the_hidden_editor() {
    let mut app = waiting(40, 10);
    assert!(app.too_small());
    assert_eq!(
        app.key_contexts(),
        vec![KeyContext::Notice, KeyContext::Always]
    );
    for c in "abc r o c e".chars() {
        assert!(update(&mut app, key(c)).is_empty(), "{c} did something");
    }
    update(&mut app, code(KeyCode::Enter));
    update(&mut app, Msg::Paste("pasted".into()));
    update(&mut app, ctrl('s'));
    assert!(app.overlay.is_none());
    assert_eq!(
        editor_text(&app),
        "",
        "nothing typed into the hidden editor"
    );
    // q quits, with the usual question (asked on the notice).
    assert!(update(&mut app, key('q')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::ConfirmQuit)));
    assert_eq!(
        app.key_contexts(),
        vec![KeyContext::Confirm, KeyContext::Always]
    );
    update(&mut app, key('n'));
    assert!(app.overlay.is_none() && !app.quitting);
    // Big enough again: the editor is back and takes keys.
    update(&mut app, Msg::Resize(100, 30));
    assert!(!app.too_small() && app.editing());
    update(&mut app, key('x'));
    assert_eq!(editor_text(&app), "x");
    update(&mut app, Msg::Resize(30, 8));
    update(&mut app, key('q'));
    assert_eq!(
        update(&mut app, key('y')),
        vec![Effect::Cancel, Effect::Quit]
    );
}

#[test]
fn keys_under_an_overlay_never_reach_the_editor_beneath() {
    let mut app = waiting(100, 30);
    update(&mut app, code(KeyCode::F(1)));
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    for c in "abc".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, Msg::Paste("pasted".into()));
    update(&mut app, code(KeyCode::Esc));
    assert!(app.overlay.is_none());
    assert_eq!(editor_text(&app), "");
}

#[test]
fn destructive_keys_ask_first_while_a_query_waits() {
    let mut app = waiting(100, 30);
    update(&mut app, key('d'));
    update(&mut app, code(KeyCode::Tab)); // leave the editor: r, o, c are commands now
    for (c, action) in [
        ('r', Action::Run),
        ('o', Action::Open),
        ('c', Action::Cancel),
    ] {
        assert!(update(&mut app, key(c)).is_empty(), "{c} acted at once");
        assert!(
            matches!(app.overlay, Some(Overlay::ConfirmDiscard { action: a }) if a == action),
            "{c}: {:?}",
            app.overlay
        );
        assert!(app
            .overlay
            .as_ref()
            .unwrap()
            .question()
            .unwrap()
            .contains("waiting"));
        assert!(update(&mut app, key('n')).is_empty());
        assert!(app.overlay.is_none());
        assert_eq!(app.state(), SessionState::Waiting);
        assert_eq!(editor_text(&app), "d", "the draft is kept");
    }
    // Yes: each does what it says.
    update(&mut app, key('c'));
    assert_eq!(update(&mut app, key('y')), vec![Effect::Cancel]);
    update(&mut app, key('o'));
    update(&mut app, code(KeyCode::Enter));
    assert!(matches!(app.overlay, Some(Overlay::Picker { .. })));
    update(&mut app, code(KeyCode::Esc));
    update(&mut app, key('r'));
    let fx = update(&mut app, key('y'));
    assert_eq!(fx[0], Effect::Cancel);
    assert!(fx.iter().any(|f| matches!(f, Effect::StartSession(_))));
    // Nothing waiting: no question.
    assert_eq!(update(&mut app, key('c')), vec![Effect::Cancel]);
    assert!(app.overlay.is_none());
}

#[test]
fn bracketed_paste_keeps_every_kind_of_line_break() {
    for text in ["one\rtwo\rthree", "one\r\ntwo\r\nthree", "one\ntwo\nthree"] {
        let mut app = waiting(100, 30);
        update(&mut app, Msg::Paste(text.into()));
        assert_eq!(editor_text(&app), "one\ntwo\nthree", "{text:?}");
    }
}

#[test]
fn unbracketed_paste_line_breaks_become_one_newline_each() {
    // CR arrives as Enter, LF as ctrl-j, CRLF as both.
    let enter = || code(KeyCode::Enter);
    let lf = || ctrl('j');
    let cases: Vec<(&str, Vec<Msg>)> = vec![
        (
            "CR",
            vec![key('a'), enter(), key('b'), enter(), enter(), key('c')],
        ),
        ("LF", vec![key('a'), lf(), key('b'), lf(), lf(), key('c')]),
        (
            "CRLF",
            vec![
                key('a'),
                enter(),
                lf(),
                key('b'),
                enter(),
                lf(),
                enter(),
                lf(),
                key('c'),
            ],
        ),
    ];
    for (name, keys) in cases {
        let mut app = waiting(100, 30);
        for k in keys {
            update(&mut app, k);
        }
        assert_eq!(editor_text(&app), "a\nb\n\nc", "{name}");
    }
}
