//! Unit tests of replay in the model: replayed answers sent as `replay`, the status
//! bar's words, `--until`'s draft (accepted: `replay`; edited: `human`), `R`, `w`
//! and `D`, and their keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{json, Value};

use super::replay::{DiffData, ReadPurpose, ReplayStart, ResultView};
use super::*;
use crate::engine::replay::{diff, Recording};
use crate::engine::{AnswerOrigin, Metrics, SessionEvent};
use crate::testkit::{completed, query, started};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
fn event(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 10,
        event,
        metrics: Metrics::default(),
    })
}
fn paused(seq: u64, id: &str, prompt: &str) -> Msg {
    event(
        seq,
        SessionEvent::Paused {
            queries: vec![query(id, prompt, "demo/cot.lua", 3)],
            pause: seq,
        },
    )
}

/// A transcript of three queries `prompt N` answered `answer N`, written to `dir`.
fn recording(dir: &Path, name: &str, answers: &[&str]) -> Arc<Recording> {
    let mut lines = vec![json!({"seq": 1, "t_ms": 0, "event": "session",
        "script": "demo/cot.lua", "script_sha256": "ab", "ctx": {"task": "t"}, "seed": 3,
        "version": "0.1.0", "state": {"ns": "default", "values": {}}})];
    let mut seq = 2;
    for (i, a) in answers.iter().enumerate() {
        let id = format!("q-{}", i + 1);
        lines.push(json!({"seq": seq, "t_ms": 0, "event": "query", "id": id,
            "prompt": format!("prompt {}", i + 1), "system": null, "max_tokens": 200,
            "grounded": false, "underspecified": false, "site": null, "pause": seq}));
        lines.push(
            json!({"seq": seq + 1, "t_ms": 0, "event": "answer", "id": id,
            "text": a, "source": "human", "model": null, "usage": null, "latency_ms": 5}),
        );
        seq += 2;
    }
    lines.push(
        json!({"seq": seq, "t_ms": 0, "event": "end", "status": "completed",
        "result": {"answer": answers.last()}, "error": null, "metrics": {}}),
    );
    let path = dir.join(name);
    let text: String = lines.iter().map(|l: &Value| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    Arc::new(Recording::load(&path).unwrap())
}

fn replaying(start: ReplayStart) -> (App, Vec<Effect>) {
    let (mut app, fx) = App::new(AppOptions {
        replay: Some(start),
        size: (120, 40),
        ..Default::default()
    });
    update(&mut app, event(1, started("demo/cot.lua", json!({}))));
    (app, fx)
}

fn sent(fx: &[Effect]) -> Vec<(String, String, AnswerOrigin)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::AnswerQuery { id, answer } => {
                Some((id.clone(), answer.text.clone(), answer.source))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn replayed_answers_go_at_once_as_replay_until_a_prompt_changes() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path(), "t.jsonl", &["a1", "a2", "a3"]);
    let (mut app, fx) = replaying(ReplayStart::new(rec.clone()));
    // The recorded script and ctx, the replay carried to the starter.
    assert_eq!(app.session.script.as_deref(), Some("demo/cot.lua"));
    let Some(Effect::StartSession(req)) = fx.iter().find(|e| matches!(e, Effect::StartSession(_)))
    else {
        panic!("{fx:?}")
    };
    assert_eq!(req.ctx, json!({"task": "t"}));
    assert_eq!(
        req.replay.as_ref().map(|r| &r.recording.path),
        Some(&rec.path)
    );
    assert_eq!(app.replay.label().as_deref(), Some("replaying 0/3"));

    let fx = update(&mut app, paused(2, "q-1", "prompt 1"));
    assert_eq!(
        sent(&fx),
        vec![("q-1".into(), "a1".into(), AnswerOrigin::Replay)]
    );
    assert_eq!(app.replay.label().as_deref(), Some("replaying 1/3"));
    assert!(!app.pending.any_for_you());

    // An edited prompt: the replay ends there and the query goes to the mode (manual).
    let fx = update(&mut app, paused(3, "q-2", "prompt 2, edited"));
    assert!(sent(&fx).is_empty(), "{fx:?}");
    assert_eq!(
        app.replay.label().as_deref(),
        Some("replay ended at q-2: prompt changed")
    );
    assert!(app.pending.any_for_you());
    assert_eq!(app.pending.current().unwrap().draft, None);
}

#[test]
fn a_replay_that_never_stops_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path(), "t.jsonl", &["a1"]);
    let (mut app, _) = replaying(ReplayStart::new(rec));
    update(&mut app, paused(2, "q-1", "prompt 1"));
    update(&mut app, event(3, completed(json!({}), Metrics::default())));
    assert_eq!(app.replay.label().as_deref(), Some("replay complete"));
}

#[test]
fn until_n_hands_query_n_plus_1_to_you_with_the_recorded_draft() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path(), "t.jsonl", &["a1", "a2", "a3"]);
    let mut start = ReplayStart::new(rec);
    start.until = Some(1);
    let (mut app, _) = replaying(start);
    update(&mut app, paused(2, "q-1", "prompt 1"));
    assert_eq!(app.replay.label().as_deref(), Some("replaying 1/1"));
    update(&mut app, paused(3, "q-2", "prompt 2"));
    assert_eq!(
        app.replay.label().as_deref(),
        Some("replay ended at q-2: --until 1 reached")
    );
    let q = app.pending.current().unwrap();
    assert_eq!(q.answer_text(), "a2");
    // Accepted unchanged: recorded as replay.
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(
        sent(&fx),
        vec![("q-2".into(), "a2".into(), AnswerOrigin::Replay)]
    );
    update(
        &mut app,
        event(
            4,
            SessionEvent::Answered {
                id: "q-2".into(),
                answer: crate::engine::Answer::new("a2", AnswerOrigin::Replay),
            },
        ),
    );
    // Later queries go to the mode (manual): an empty editor.
    update(&mut app, paused(5, "q-3", "prompt 3"));
    assert_eq!(app.pending.current().unwrap().answer_text(), "");
}

#[test]
fn an_edited_recorded_draft_is_the_persons_answer() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path(), "t.jsonl", &["a1", "a2"]);
    let mut start = ReplayStart::new(rec);
    start.until = Some(0);
    let (mut app, _) = replaying(start);
    update(&mut app, paused(2, "q-1", "prompt 1"));
    assert_eq!(app.focus, Focus::Pending);
    update(&mut app, key('!'));
    let fx = update(&mut app, ctrl('s'));
    // (A draft is shown from its start, so typing goes before it.)
    assert_eq!(
        sent(&fx),
        vec![("q-1".into(), "!a1".into(), AnswerOrigin::Human)]
    );
}

#[test]
fn what_if_holds_the_chosen_query_and_replays_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(dir.path(), "run1.jsonl", &["a1", "a2", "a3"]);
    let (mut app, _) = replaying(ReplayStart::new(rec.clone()));
    update(
        &mut app,
        Msg::Recording {
            path: dir.path().join("run2.jsonl"),
            shown: "run2.jsonl".into(),
        },
    );
    for (n, seq) in [(1, 2), (2, 4), (3, 6)] {
        update(
            &mut app,
            paused(seq, &format!("q-{n}"), &format!("prompt {n}")),
        );
        update(
            &mut app,
            event(
                seq + 1,
                SessionEvent::Answered {
                    id: format!("q-{n}"),
                    answer: crate::engine::Answer::new(format!("a{n}"), AnswerOrigin::Replay),
                },
            ),
        );
    }
    update(&mut app, event(9, completed(json!({}), Metrics::default())));
    update(&mut app, code(KeyCode::Esc)); // the result overlay
                                          // In the Trace pane, on q-2's answer: w.
    app.focus = Focus::Trace;
    let at = (0..app.trace.len())
        .find(|&i| {
            let e = app.trace.get(i).unwrap();
            e.kind == trace::TraceKind::Answer && e.head.starts_with("q-2")
        })
        .unwrap();
    let height = app.pane_height(Focus::Trace);
    app.trace.jump(true, height);
    app.trace.move_cursor(at as isize, height);
    let fx = update(&mut app, key('w'));
    assert_eq!(
        fx,
        vec![Effect::ReadTranscript {
            path: dir.path().join("run2.jsonl"),
            purpose: ReadPurpose::WhatIf("q-2".into()),
        }]
    );
    // The runtime read it (the run just recorded); the new run holds q-2.
    let run2 = recording(dir.path(), "run2.jsonl", &["a1", "a2", "a3"]);
    let fx = update(
        &mut app,
        Msg::TranscriptRead {
            purpose: ReadPurpose::WhatIf("q-2".into()),
            result: Ok(run2.clone()),
        },
    );
    let Some(Effect::StartSession(req)) = fx.iter().find(|e| matches!(e, Effect::StartSession(_)))
    else {
        panic!("{fx:?}")
    };
    let replay = req.replay.as_ref().unwrap();
    assert_eq!(
        (replay.hold, replay.branch_at.as_deref()),
        (Some(2), Some("q-2"))
    );
    update(&mut app, event(1, started("demo/cot.lua", json!({}))));
    let fx = update(&mut app, paused(2, "q-1", "prompt 1"));
    assert_eq!(sent(&fx).len(), 1);
    let fx = update(&mut app, paused(3, "q-2", "prompt 2"));
    assert!(sent(&fx).is_empty());
    assert_eq!(app.pending.current().unwrap().answer_text(), "a2");
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(
        sent(&fx),
        vec![("q-2".into(), "a2".into(), AnswerOrigin::Replay)]
    );
    update(
        &mut app,
        event(
            4,
            SessionEvent::Answered {
                id: "q-2".into(),
                answer: crate::engine::Answer::new("a2", AnswerOrigin::Replay),
            },
        ),
    );
    // After it, recorded answers are reused while prompts match.
    let fx = update(&mut app, paused(5, "q-3", "prompt 3"));
    assert_eq!(
        sent(&fx),
        vec![("q-3".into(), "a3".into(), AnswerOrigin::Replay)]
    );
    // D compares with the parent.
    update(
        &mut app,
        Msg::Recording {
            path: dir.path().join("run3.jsonl"),
            shown: "run3.jsonl".into(),
        },
    );
    app.focus = Focus::Trace;
    let fx = update(&mut app, key('D'));
    assert_eq!(
        fx,
        vec![Effect::DiffTranscripts {
            left: run2.path.clone(),
            right: dir.path().join("run3.jsonl"),
        }]
    );
}

#[test]
fn r_replays_the_last_runs_transcript_and_says_when_the_script_changed() {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        autostart: true,
        size: (120, 40),
        ..Default::default()
    });
    app.focus = Focus::Budget;
    update(&mut app, key('R'));
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .starts_with("no transcript of a last run"));
    let path = PathBuf::from("/tmp/x/run1.jsonl");
    update(
        &mut app,
        Msg::Recording {
            path: path.clone(),
            shown: "run1".into(),
        },
    );
    update(&mut app, Msg::ScriptChanged(PathBuf::from("other.lua")));
    assert!(!app.replay.script_changed);
    let fx = update(&mut app, Msg::ScriptChanged(PathBuf::from("demo/cot.lua")));
    assert!(app.replay.script_changed);
    assert_eq!(fx, vec![Effect::LoadScript("demo/cot.lua".into())]);
    assert_eq!(
        app.message.as_deref(),
        Some("script changed on disk · R replays to the first changed prompt")
    );
    let fx = update(&mut app, key('R'));
    assert_eq!(
        fx,
        vec![
            Effect::Cancel,
            Effect::ReadTranscript {
                path,
                purpose: ReadPurpose::EditReplay,
            }
        ]
    );
    // Unreadable: said, nothing started.
    let fx = update(
        &mut app,
        Msg::TranscriptRead {
            purpose: ReadPurpose::EditReplay,
            result: Err("t.jsonl:3: bad JSON".into()),
        },
    );
    assert!(fx.is_empty());
    assert_eq!(
        app.message.as_deref(),
        Some("cannot replay: t.jsonl:3: bad JSON")
    );
}

#[test]
fn the_diff_overlay_opens_rows_and_switches_the_result_view() {
    let dir = tempfile::tempdir().unwrap();
    let left = recording(dir.path(), "a.jsonl", &["a1", "a2"]);
    let right = recording(dir.path(), "b.jsonl", &["a1", "b2"]);
    let (mut app, _) = App::new(AppOptions {
        size: (120, 40),
        ..Default::default()
    });
    app.overlay = None;
    let data = DiffData {
        diff: diff(&left, &right),
        left,
        right,
    };
    update(&mut app, Msg::DiffReady(Ok(Arc::new(data))));
    assert_eq!(app.key_stack(), ContextStack::Diff);
    update(&mut app, key('j'));
    update(&mut app, code(KeyCode::Enter));
    let Some(Overlay::Diff(d)) = &app.overlay else {
        panic!()
    };
    assert_eq!(d.open, Some(1));
    let super::replay::Detail::Lines(lines) = d.detail(1) else {
        panic!()
    };
    assert!(lines.contains(&"-a2".to_string()) && lines.contains(&"+b2".to_string()));
    // esc goes back to the rows, t shows the results (JSON diff, then side by side).
    update(&mut app, code(KeyCode::Esc));
    update(&mut app, key('t'));
    let Some(Overlay::Diff(d)) = &app.overlay else {
        panic!()
    };
    assert_eq!((d.open, d.result_view), (Some(2), ResultView::Json));
    update(&mut app, code(KeyCode::Esc));
    update(&mut app, code(KeyCode::Esc));
    assert!(app.overlay.is_none());
}

#[test]
fn replay_keys_are_bound_where_they_apply_without_collisions() {
    let map = Keymap::with_overrides(&Default::default()).unwrap();
    let resolve =
        |c: &str, stack: ContextStack| map.resolve(KeyChord::parse(c).unwrap(), stack.contexts());
    assert_eq!(
        resolve("R", ContextStack::Panes),
        Some(Action::ReplayEdited)
    );
    assert_eq!(resolve("r", ContextStack::Panes), Some(Action::Run));
    assert_eq!(resolve("D", ContextStack::Trace), Some(Action::Diff));
    assert_eq!(resolve("w", ContextStack::Trace), Some(Action::WhatIf));
    assert_eq!(resolve("w", ContextStack::Source), Some(Action::ToggleWrap));
    assert_eq!(
        resolve("w", ContextStack::Unrecorded),
        Some(Action::RecordElsewhere)
    );
    assert_eq!(resolve("t", ContextStack::Diff), Some(Action::DiffView));
    assert_eq!(resolve("enter", ContextStack::Diff), Some(Action::Select));
    // Typing R or D in the answer editor types them.
    assert_eq!(resolve("R", ContextStack::Editing), None);
    let help = map.help_rows();
    assert!(help
        .iter()
        .any(|(ctx, keys, _)| *ctx == "trace" && keys == "w"));
}
