//! Unit tests of the picker: typing filters, paging keys move, a script runs at once,
//! a package opens the ctx editor pre-filled from its run input and runs on apply.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::picker::{Choice, FieldKind, InputField};
use super::*;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn package(name: &str, description: &str, input: &[(&str, bool)]) -> Choice {
    Choice {
        name: name.into(),
        description: Some(description.into()),
        package: true,
        input: input
            .iter()
            .map(|(n, required)| InputField {
                name: n.to_string(),
                kind: FieldKind::String,
                required: *required,
            })
            .collect(),
    }
}

fn picker(n_extra: usize) -> App {
    let mut choices = vec![
        Choice::from("demo/cot.lua"),
        package(
            "cot",
            "Iterative chain-of-thought",
            &[("task", true), ("depth", false)],
        ),
        package("panel", "A judge picks the best answer", &[]),
    ];
    choices.extend((0..n_extra).map(|i| Choice::from(format!("pkg{i:02}"))));
    let (app, fx) = App::new(AppOptions {
        choices,
        ctx: json!({"budget": {"max_llm_calls": 5}}),
        size: (100, 30),
        ..Default::default()
    });
    assert!(fx.is_empty());
    app
}

fn selected(app: &App) -> String {
    let (list, sel) = picker::shown(app).expect("picker open");
    app.choices[list[sel]].name.clone()
}

#[test]
fn typing_filters_and_paging_keys_move() {
    let mut app = picker(40);
    update(&mut app, code(KeyCode::End));
    assert_eq!(selected(&app), "pkg39");
    update(&mut app, code(KeyCode::Home));
    assert_eq!(selected(&app), "demo/cot.lua");
    update(&mut app, code(KeyCode::PageDown));
    assert!(selected(&app).starts_with("pkg"), "a page down");
    update(&mut app, code(KeyCode::PageUp));
    assert_eq!(selected(&app), "demo/cot.lua");
    // Letters filter (j and k too: they are not moves here); backspace takes back.
    for c in "judge".chars() {
        update(&mut app, key(c));
    }
    assert_eq!(picker::shown(&app).unwrap().0.len(), 1);
    assert_eq!(selected(&app), "panel", "matched by its description");
    for _ in 0.."judge".len() {
        update(&mut app, code(KeyCode::Backspace));
    }
    update(&mut app, Msg::Paste("COT".into()));
    assert_eq!(picker::shown(&app).unwrap().0.len(), 2);
    update(&mut app, key('z'));
    assert!(picker::shown(&app).unwrap().0.is_empty());
    assert!(
        update(&mut app, code(KeyCode::Enter)).is_empty(),
        "nothing to pick"
    );
}

#[test]
fn a_script_runs_at_once() {
    let mut app = picker(0);
    let fx = update(&mut app, code(KeyCode::Enter));
    assert_eq!(fx[0], Effect::LoadScript("demo/cot.lua".into()));
    assert!(matches!(&fx[1], Effect::StartSession(r) if r.script == "demo/cot.lua"));
    assert!(app.overlay.is_none());
    assert_eq!(app.state(), SessionState::Running);
}

#[test]
fn a_package_opens_the_ctx_editor_prefilled_then_runs() {
    let mut app = picker(0);
    update(&mut app, code(KeyCode::Down));
    assert!(
        update(&mut app, code(KeyCode::Enter)).is_empty(),
        "not run with {{}}"
    );
    let Some(Overlay::Ctx {
        editor, run, hint, ..
    }) = &app.overlay
    else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(run.as_deref(), Some("cot"));
    assert_eq!(hint.as_deref(), Some("optional: depth (string)"));
    let text = editor.lines().join("\n");
    assert!(text.starts_with("{\n  \"task\": \"\""), "{text}");
    // Fill in the task (the cursor is at the start: go to the value first).
    update(&mut app, code(KeyCode::Down));
    update(&mut app, code(KeyCode::End));
    for _ in 0..2 {
        update(&mut app, code(KeyCode::Left));
    }
    for c in "Why?".chars() {
        update(&mut app, key(c));
    }
    let fx = update(&mut app, ctrl('s'));
    assert!(app.overlay.is_none());
    assert_eq!(fx[0], Effect::LoadScript("cot".into()));
    let Effect::StartSession(request) = &fx[1] else {
        panic!("{fx:?}")
    };
    assert_eq!(request.script, "cot");
    assert_eq!(
        request.ctx,
        json!({"task": "Why?", "budget": {"max_llm_calls": 5}})
    );
}

#[test]
fn a_package_without_a_spec_asks_for_a_task_at_least() {
    let mut app = picker(0);
    for c in "panel".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Enter));
    let Some(Overlay::Ctx { editor, hint, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    let ctx: serde_json::Value = serde_json::from_str(&editor.lines().join("\n")).unwrap();
    assert_eq!(ctx, json!({"task": "", "budget": {"max_llm_calls": 5}}));
    assert_eq!(hint, &None);
    // esc: nothing runs.
    assert!(update(&mut app, code(KeyCode::Esc)).is_empty());
    assert_eq!(app.state(), SessionState::Idle);
}
