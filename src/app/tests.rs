//! Unit tests of `update`: keys, session events, answer-source replies, overlays.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use serde_json::json;

use super::pending::QueryStatus;
use super::*;
use crate::engine::{AnswerOrigin, Metrics, SessionEvent};
use crate::testkit::{batch, completed, failed, query, started};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        let fx = update(app, key(c));
        assert!(
            fx.iter().all(|e| matches!(e, Effect::PersonReady(_))),
            "{fx:?}"
        );
    }
}
fn event(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 1000,
        event,
        metrics: Metrics {
            wall_ms: seq * 1000,
            ..Metrics::default()
        },
    })
}

fn running(answer_source: Option<&str>) -> App {
    let (mut app, fx) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        ctx: json!({"budget": {"max_llm_calls": 4}}),
        autostart: true,
        // A source given without a mode answers at once, as `--answers` does.
        mode: if answer_source.is_some() {
            Mode::Auto
        } else {
            Mode::Manual
        },
        answer_source: answer_source.map(str::to_string),
        size: (100, 30),
        ..Default::default()
    });
    assert_eq!(fx.len(), 2);
    assert_eq!(fx[0], Effect::LoadScript("demo/cot.lua".into()));
    assert!(matches!(&fx[1], Effect::StartSession(r) if r.script == "demo/cot.lua"));
    update(&mut app, event(1, started("demo/cot.lua", json!({}))));
    app
}

fn paused(app: &mut App, seq: u64, queries: Vec<Query>) -> Vec<Effect> {
    update(
        app,
        event(
            seq,
            SessionEvent::Paused {
                pause: seq,
                queries,
            },
        ),
    )
}

#[test]
fn without_a_script_the_picker_opens() {
    let (app, fx) = App::new(AppOptions {
        choices: vec!["demo/a.lua".into()],
        ..Default::default()
    });
    assert!(fx.is_empty());
    assert!(matches!(
        app.overlay,
        Some(Overlay::Picker { selected: 0, .. })
    ));
    assert_eq!(app.state(), SessionState::Idle);
}

#[test]
fn a_pause_waits_for_you_and_ctrl_s_answers() {
    let mut app = running(None);
    paused(
        &mut app,
        2,
        vec![query("q-1", "Why is the sky blue?", "demo/cot.lua", 13)],
    );
    assert_eq!(app.state(), SessionState::Waiting);
    assert_eq!(app.focus, Focus::Pending);
    assert_eq!(app.source.paused.as_ref().map(|m| m.line), Some(13));
    typed(&mut app, "Rayleigh q");
    let fx = update(&mut app, ctrl('s'));
    let [Effect::AnswerQuery { id, answer }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(id, "q-1");
    assert_eq!(answer.text, "Rayleigh q");
    assert_eq!(answer.source, AnswerOrigin::Human);
    assert_eq!(answer.latency_ms, 0);
    assert_eq!(app.pending.current().unwrap().status, QueryStatus::Sent);
    assert_eq!(app.state(), SessionState::Running);
    // The pane shows the engine's figures as the event carries them: nothing counted
    // or estimated here.
    let engine_says = Metrics {
        llm_calls: 1,
        completion_tokens: 3,
        estimated_calls: 1,
        wall_ms: 3000,
        human_ms: 1000,
        elapsed_ms: 2000,
        ..Metrics::default()
    };
    update(
        &mut app,
        Msg::Session(Stamped {
            seq: 3,
            t_ms: 3000,
            event: SessionEvent::Answered {
                id: "q-1".into(),
                answer: answer.clone(),
            },
            metrics: engine_says.clone(),
        }),
    );
    assert!(app.pending.queries.is_empty());
    assert_eq!(app.source.paused.as_ref().map(|m| m.line), None);
    assert_eq!(app.budget.metrics, engine_says);
}

#[test]
fn alt_enter_also_submits_and_empty_answers_ask_first() {
    let mut app = running(None);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 1)]);
    assert!(update(&mut app, ctrl('s')).is_empty());
    assert!(matches!(&app.overlay, Some(Overlay::ConfirmEmpty { id }) if id == "q-1"));
    assert!(update(&mut app, key('n')).is_empty());
    assert!(app.overlay.is_none());
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)),
    );
    let fx = update(&mut app, key('y'));
    assert!(matches!(&fx[..], [Effect::AnswerQuery { answer, .. }] if answer.text.is_empty()));
}

#[test]
fn a_batch_shows_k_of_n_and_moves_between_queries() {
    let mut app = running(None);
    paused(
        &mut app,
        2,
        batch(vec![
            query("q-1", "first", "demo/cot.lua", 5),
            query("q-2", "second", "demo/cot.lua", 9),
        ]),
    );
    assert_eq!(app.pending.selected, 0);
    update(&mut app, ctrl('n'));
    assert_eq!(app.pending.current().unwrap().query.id, "q-2");
    assert_eq!(
        app.source.paused.as_ref().map(|m| m.line),
        Some(9),
        "marker follows the query shown"
    );
    typed(&mut app, "two");
    let fx = update(&mut app, ctrl('s'));
    assert!(fx.is_empty(), "held until the batch's last answer: {fx:?}");
    assert_eq!(
        app.pending.current().unwrap().query.id,
        "q-1",
        "moves to the one left"
    );
    update(&mut app, ctrl('p'));
    assert_eq!(app.pending.current().unwrap().query.id, "q-2");
}

#[test]
fn quitting_while_a_query_waits_asks_first() {
    let mut app = running(None);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 1)]);
    typed(&mut app, "q");
    assert!(app.overlay.is_none(), "q types in the editor");
    assert!(update(&mut app, ctrl('c')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::ConfirmQuit)));
    update(&mut app, code(KeyCode::Esc));
    assert!(app.overlay.is_none() && !app.quitting);
    update(&mut app, code(KeyCode::Tab));
    update(&mut app, key('q'));
    let fx = update(&mut app, key('y'));
    assert_eq!(fx, vec![Effect::Cancel, Effect::Quit]);
    assert!(app.quitting);
}

#[test]
fn quitting_when_idle_is_immediate() {
    let (mut app, _) = App::new(AppOptions {
        script: Some("x.lua".into()),
        ..Default::default()
    });
    assert_eq!(update(&mut app, key('q')), vec![Effect::Quit]);
}

#[test]
fn ctx_editor_keeps_text_on_bad_json_and_applies_good_json() {
    let (mut app, _) = App::new(AppOptions {
        script: Some("x.lua".into()),
        ctx: json!({"a": 1}),
        size: (100, 30),
        ..Default::default()
    });
    update(&mut app, key('e'));
    update(&mut app, Msg::Paste(",".into()));
    update(&mut app, ctrl('s'));
    let Some(Overlay::Ctx { editor, error, .. }) = &app.overlay else {
        panic!("overlay closed")
    };
    assert!(error.as_deref().unwrap().starts_with("invalid JSON"));
    assert!(editor.lines().join("\n").contains(','), "nothing lost");
    assert_eq!(app.session.ctx, json!({"a": 1}));
    update(&mut app, ctrl('a')); // textarea: line start
                                 // Replace everything with a valid object.
    let mut editor =
        ratatui_textarea::TextArea::new(vec![r#"{"budget": {"max_tokens": 9}}"#.into()]);
    std::mem::swap(
        match &mut app.overlay {
            Some(Overlay::Ctx { editor, .. }) => editor.as_mut(),
            _ => unreachable!(),
        },
        &mut editor,
    );
    update(&mut app, ctrl('s'));
    assert!(app.overlay.is_none());
    let fx = update(&mut app, key('r'));
    assert!(
        matches!(&fx[..], [Effect::LoadScript(_), Effect::StartSession(r)] if r.ctx == json!({"budget": {"max_tokens": 9}}))
    );
    assert_eq!(app.budget.budget.max_tokens, Some(9));
}

#[test]
fn rerun_cancels_the_running_session_and_clears_panes() {
    let mut app = running(None);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 1)]);
    update(&mut app, code(KeyCode::Tab));
    assert!(
        update(&mut app, key('r')).is_empty(),
        "asks first: q-1 waits"
    );
    let fx = update(&mut app, key('y'));
    assert_eq!(fx[0], Effect::Cancel);
    // The script is read again: it may have been edited since.
    assert_eq!(fx[1], Effect::LoadScript("demo/cot.lua".into()));
    assert!(matches!(fx[2], Effect::StartSession(_)));
    assert!(app.pending.queries.is_empty());
    assert_eq!(app.trace.total(), 0);
}

#[test]
fn failure_marks_the_error_line_and_success_shows_the_result() {
    let mut app = running(None);
    update(&mut app, event(2, failed("boom", "demo/cot.lua", 7)));
    assert_eq!(app.state(), SessionState::Failed);
    assert_eq!(app.source.error.as_ref().map(|m| m.line), Some(7));
    assert!(app.message.as_deref().unwrap().contains("boom"));

    let mut app = running(None);
    let metrics = Metrics {
        llm_calls: 3,
        ..Default::default()
    };
    update(
        &mut app,
        event(2, completed(json!({"answer": 42}), metrics)),
    );
    assert_eq!(app.state(), SessionState::Finished);
    assert!(matches!(app.overlay, Some(Overlay::Result { .. })));
    assert_eq!(app.budget.metrics.llm_calls, 3, "final metrics win");
    update(&mut app, code(KeyCode::Esc));
    update(&mut app, key('v'));
    assert!(matches!(app.overlay, Some(Overlay::Result { .. })));
}

#[test]
fn an_answer_source_answers_or_hands_over_to_you() {
    let mut app = running(Some("answers file"));
    let fx = paused(
        &mut app,
        2,
        vec![
            query("q-1", "a", "demo/cot.lua", 1),
            query("q-2", "b", "demo/cot.lua", 2),
            query("q-3", "c", "demo/cot.lua", 3),
        ],
    );
    assert_eq!(fx.len(), 3);
    assert!(matches!(&fx[0], Effect::AskSource { query: q, .. } if q.id == "q-1"));
    assert_eq!(app.state(), SessionState::Running);
    let fx = update(
        &mut app,
        Msg::SourceReply {
            request: 1,
            id: "q-1".into(),
            result: Ok(Answer::new("canned", AnswerOrigin::Script)),
        },
    );
    assert!(
        matches!(&fx[..], [Effect::AnswerQuery { id, answer }] if id == "q-1" && answer.text == "canned")
    );
    assert!(
        matches!(&app.pending.queries[0].status, QueryStatus::Answered { text, .. } if text == "canned")
    );
    let fx = update(
        &mut app,
        Msg::SourceReply {
            request: 1,
            id: "q-2".into(),
            result: Err(SourceError::Failed("scripted error".into())),
        },
    );
    assert_eq!(
        fx,
        vec![Effect::FailQuery {
            id: "q-2".into(),
            error: "scripted error".into()
        }]
    );
    update(
        &mut app,
        Msg::SourceReply {
            request: 1,
            id: "q-3".into(),
            result: Err(SourceError::Exhausted("no more answers".into())),
        },
    );
    let q3 = &app.pending.queries[2];
    assert_eq!(q3.status, QueryStatus::ForYou);
    assert!(q3.note.as_deref().unwrap().contains("no more answers"));
    assert_eq!(app.state(), SessionState::Waiting);
}

#[test]
fn trace_enter_opens_the_event_and_f_filters() {
    let mut app = running(None);
    paused(
        &mut app,
        2,
        vec![query("q-1", "the prompt", "demo/cot.lua", 1)],
    );
    update(&mut app, code(KeyCode::Tab)); // Pending → Trace
    assert_eq!(app.focus, Focus::Trace);
    update(&mut app, code(KeyCode::Enter));
    let Some(Overlay::Event { index, .. }) = app.overlay else {
        panic!("no event overlay")
    };
    assert_eq!(app.trace.get(index).unwrap().summary(), "the prompt");
    update(&mut app, key('q'));
    assert!(app.overlay.is_none(), "q closes overlays");
    update(&mut app, key('f'));
    assert_eq!(app.trace.filter(), trace::TraceFilter::Llm);
    assert_eq!(app.trace.len(), 1);
}

#[test]
fn ticks_bring_the_engines_figures_and_the_person_is_told_when_a_query_is_theirs() {
    let mut app = running(None);
    let live = Metrics {
        wall_ms: 1500,
        elapsed_ms: 1500,
        ..Metrics::default()
    };
    update(
        &mut app,
        Msg::Tick {
            now_ms: 1500,
            metrics: Some(live.clone()),
        },
    );
    assert_eq!(app.budget.metrics, live);
    let fx = paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 1)]);
    assert_eq!(fx, vec![Effect::PersonReady("q-1".into())]);
    assert!(update(&mut app, key('x')).is_empty(), "told once per query");
    let thinking = Metrics {
        wall_ms: 10_000,
        human_ms: 8_000,
        elapsed_ms: 2_000,
        ..Metrics::default()
    };
    update(
        &mut app,
        Msg::Tick {
            now_ms: 10_000,
            metrics: Some(thinking.clone()),
        },
    );
    assert_eq!(
        app.budget.metrics, thinking,
        "shown exactly as the engine counts"
    );
}

#[test]
fn mouse_focuses_and_scrolls_the_pane_under_it() {
    let mut app = running(None);
    let lines = (0..200)
        .map(|i| ratatui::text::Line::raw(format!("{i}")))
        .collect();
    update(
        &mut app,
        Msg::SourceLoaded {
            file: "demo/cot.lua".into(),
            lines,
        },
    );
    let layout = app.layout().unwrap();
    let (x, y) = (layout.trace.x + 2, layout.trace.y + 2);
    let mouse = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(
        &mut app,
        mouse(
            MouseEventKind::Down(crossterm::event::MouseButton::Left),
            x,
            y,
        ),
    );
    assert_eq!(app.focus, Focus::Trace);
    let (x, y) = (layout.source.x + 2, layout.source.y + 2);
    update(&mut app, mouse(MouseEventKind::ScrollDown, x, y));
    assert_eq!(app.source.scroll, 3);
    assert_eq!(app.focus, Focus::Trace, "the wheel does not move focus");
}

#[test]
fn paste_goes_to_the_answer_editor() {
    let mut app = running(None);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 1)]);
    update(&mut app, Msg::Paste("line one\nline two".into()));
    assert_eq!(
        app.pending.current().unwrap().answer_text(),
        "line one\nline two"
    );
    update(&mut app, ctrl('u')); // textarea undo
    assert_eq!(app.pending.current().unwrap().answer_text(), "");
}

#[test]
fn cancel_then_stream_end_is_cancelled() {
    let mut app = running(None);
    update(&mut app, code(KeyCode::Tab));
    assert_eq!(update(&mut app, key('c')), vec![Effect::Cancel]);
    update(&mut app, Msg::SessionEnded);
    assert_eq!(app.state(), SessionState::Cancelled);
    assert!(update(&mut app, key('c')).is_empty(), "nothing to cancel");
}

#[test]
fn terminate_cancels_and_quits() {
    let mut app = running(None);
    assert_eq!(
        update(&mut app, Msg::Terminate),
        vec![Effect::Cancel, Effect::Quit]
    );
}

#[test]
fn overlay_scroll_stops_at_the_end_and_comes_back_at_once() {
    let mut app = running(None);
    update(&mut app, key('?'));
    update(&mut app, code(KeyCode::End));
    let Some(Overlay::Help { scroll: bottom }) = app.overlay else {
        panic!()
    };
    assert!(bottom > 0 && bottom < 100, "{bottom}");
    update(&mut app, code(KeyCode::Up));
    assert!(matches!(app.overlay, Some(Overlay::Help { scroll }) if scroll == bottom - 1));
    update(&mut app, code(KeyCode::Home));
    assert!(matches!(app.overlay, Some(Overlay::Help { scroll: 0 })));
}

#[test]
fn a_call_site_in_another_file_loads_that_file() {
    let mut app = running(None);
    update(
        &mut app,
        Msg::SourceLoaded {
            file: "demo/cot.lua".into(),
            lines: vec![ratatui::text::Line::raw("x")],
        },
    );
    let fx = paused(
        &mut app,
        2,
        vec![query("q-1", "p", "packages/cot/init.lua", 40)],
    );
    assert_eq!(
        fx,
        vec![
            Effect::LoadScript("packages/cot/init.lua".into()),
            Effect::PersonReady("q-1".into())
        ]
    );
    let lines = (0..100)
        .map(|i| ratatui::text::Line::raw(format!("{i}")))
        .collect();
    update(
        &mut app,
        Msg::SourceLoaded {
            file: "packages/cot/init.lua".into(),
            lines,
        },
    );
    assert_eq!(app.source.paused.as_ref().map(|m| m.line), Some(40));
    let h = app.pane_height(Focus::Source);
    assert!(app.source.scroll <= 39 && 39 < app.source.scroll + h);
}

#[test]
fn a_query_arriving_under_an_overlay_is_focused_once_it_closes() {
    let mut app = running(None);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
    );
    assert!(matches!(app.overlay, Some(Overlay::Help { .. })));
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 1)]);
    assert!(!app.editing(), "the help keeps the keys");
    update(&mut app, code(KeyCode::Esc));
    assert!(app.editing());
    typed(&mut app, "x");
    assert_eq!(app.pending.current().unwrap().answer_text(), "x");
}
