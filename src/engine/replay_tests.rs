//! Unit tests of the recording reader, the replay cursor and the run diff, on
//! transcripts written by hand.

use std::sync::Arc;

use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::engine::event::BatchPos;
use crate::engine::transcript;

fn query_line(
    seq: u64,
    id: &str,
    prompt: &str,
    fork: Option<&str>,
    batch: Option<(usize, usize)>,
) -> Value {
    let mut v = json!({"seq": seq, "t_ms": 0, "event": "query", "id": id, "prompt": prompt,
        "system": null, "max_tokens": 100, "grounded": false, "underspecified": false,
        "site": null, "pause": seq});
    if let Some(f) = fork {
        v["fork"] = json!(f);
    }
    if let Some((index, size)) = batch {
        v["batch"] = json!({"index": index, "size": size});
    }
    v
}

fn answer_line(seq: u64, id: &str, text: &str) -> Value {
    json!({"seq": seq, "t_ms": 0, "event": "answer", "id": id, "text": text,
        "source": "script", "model": null, "usage": null, "latency_ms": 0})
}

fn session_line() -> Value {
    json!({"seq": 1, "t_ms": 0, "event": "session", "script": "s.lua", "script_sha256": "ab",
        "ctx": {}, "seed": 3, "version": "0.1.0", "state": {"ns": "default", "values": {}}})
}

fn end_line(seq: u64, result: Value) -> Value {
    json!({"seq": seq, "t_ms": 0, "event": "end", "status": "completed", "result": result,
        "error": null, "metrics": {}})
}

fn text_of(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn recording(lines: &[Value]) -> Recording {
    let parsed = transcript::parse(&text_of(lines), Path::new("t.jsonl")).unwrap();
    Recording::from_lines(Path::new("t.jsonl"), "0".into(), &parsed).unwrap()
}

fn q(id: &str, prompt: &str) -> Query {
    Query {
        max_tokens_capped: None,
        id: id.into(),
        prompt: prompt.into(),
        system: None,
        max_tokens: 100,
        grounded: false,
        underspecified: false,
        site: None,
        batch: None,
        fork: None,
    }
}

/// Main asks a, b; fork child c asks x, y (interleaved with its sibling d's z).
fn sample() -> Recording {
    recording(&[
        session_line(),
        query_line(2, "q-1", "a", None, None),
        answer_line(3, "q-1", "A"),
        query_line(4, "q-2", "x", Some("c"), None),
        query_line(5, "q-3", "z", Some("d"), None),
        answer_line(6, "q-3", "Z"),
        answer_line(7, "q-2", "X"),
        query_line(8, "q-4", "y", Some("c"), None),
        answer_line(9, "q-4", "Y"),
        query_line(10, "q-5", "b", None, None),
        answer_line(11, "q-5", "B"),
        end_line(12, json!("done")),
    ])
}

fn replayed_text(step: Step) -> String {
    match step {
        Step::Replay(reply) => reply.text().to_string(),
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[test]
fn reads_queries_replies_streams_and_end() {
    let r = sample();
    assert_eq!(r.queries.len(), 5);
    assert_eq!(r.replies(), 5);
    let y = &r.queries[3];
    assert_eq!((y.query.id.as_str(), y.position, y.order), ("q-4", 4, 2));
    assert_eq!(r.queries[4].order, 2, "b is main's second query");
    assert_eq!(r.end.as_ref().unwrap().result, Some(json!("done")));
    assert_eq!(r.state.as_ref().unwrap().ns, "default");
}

#[test]
fn fork_children_match_by_name_and_own_order_whatever_the_interleaving() {
    let mut cursor = ReplayCursor::new(Arc::new(sample()));
    assert_eq!(replayed_text(cursor.next(&q("q-1", "a"))), "A");
    // This run's child d asks first, then c twice: ids differ, answers still match.
    let mut z = q("q-2", "z");
    z.fork = Some("d".into());
    let mut x = q("q-3", "x");
    x.fork = Some("c".into());
    let mut y = q("q-4", "y");
    y.fork = Some("c".into());
    assert_eq!(replayed_text(cursor.next(&z)), "Z");
    assert_eq!(replayed_text(cursor.next(&x)), "X");
    assert_eq!(replayed_text(cursor.next(&y)), "Y");
    assert_eq!(replayed_text(cursor.next(&q("q-5", "b"))), "B");
    assert_eq!(cursor.replayed(), 5);
    assert!(cursor.stopped().is_none() && cursor.unasked().is_empty());
}

#[test]
fn first_changed_prompt_stops_the_replay_for_everyone() {
    let mut cursor = ReplayCursor::new(Arc::new(sample()));
    cursor.next(&q("q-1", "a"));
    let mut x = q("q-2", "x changed");
    x.fork = Some("c".into());
    let Step::Handover {
        draft,
        stopped: Some(Stop::Diverged(d)),
    } = cursor.next(&x)
    else {
        panic!("expected a divergence");
    };
    assert_eq!(draft.as_deref(), Some("X"));
    assert_eq!(d.mismatch, Mismatch::Changed(vec![QueryField::Prompt]));
    assert_eq!(d.place(), "q-2 (query 2, fork child c)");
    assert_eq!(d.reason(), "prompt changed");
    // Later queries, even matching ones, go live; the stop is reported once.
    let mut z = q("q-3", "z");
    z.fork = Some("d".into());
    assert_eq!(
        cursor.next(&z),
        Step::Handover {
            draft: Some("Z".into()),
            stopped: None
        }
    );
}

#[test]
fn batch_size_change_is_named() {
    let r = recording(&[
        session_line(),
        query_line(2, "q-1", "a", None, Some((0, 3))),
        answer_line(3, "q-1", "A"),
    ]);
    let mut cursor = ReplayCursor::new(Arc::new(r));
    let mut a = q("q-1", "a");
    a.batch = Some(BatchPos { index: 0, size: 5 });
    let Step::Handover {
        stopped: Some(Stop::Diverged(d)),
        ..
    } = cursor.next(&a)
    else {
        panic!("expected a divergence");
    };
    assert_eq!(
        d.reason(),
        "a recorded batch of 3 replayed against a batch of 5"
    );
}

#[test]
fn unknown_fork_beyond_and_unanswered() {
    let r = recording(&[
        session_line(),
        query_line(2, "q-1", "a", None, None),
        answer_line(3, "q-1", "A"),
        query_line(4, "q-2", "b", None, None),
    ]);
    let r = Arc::new(r);
    let mut fork = q("q-1", "a");
    fork.fork = Some("gone".into());
    let mut c = ReplayCursor::new(r.clone());
    let Step::Handover {
        stopped: Some(Stop::Diverged(d)),
        ..
    } = c.next(&fork)
    else {
        panic!()
    };
    assert_eq!(d.mismatch, Mismatch::UnknownFork);
    assert_eq!(d.reason(), "fork child gone is not in the recording");
    let mut c = ReplayCursor::new(r.clone());
    c.next(&q("q-1", "a"));
    let Step::Handover {
        stopped: Some(Stop::Diverged(d)),
        ..
    } = c.next(&q("q-2", "b"))
    else {
        panic!()
    };
    assert_eq!(d.mismatch, Mismatch::Unanswered);
    let short = recording(&[
        session_line(),
        query_line(2, "q-1", "a", None, None),
        answer_line(3, "q-1", "A"),
    ]);
    let mut c = ReplayCursor::new(Arc::new(short));
    c.next(&q("q-1", "a"));
    let Step::Handover {
        stopped: Some(Stop::Diverged(d)),
        ..
    } = c.next(&q("q-2", "c"))
    else {
        panic!()
    };
    assert_eq!((&d.mismatch, d.position), (&Mismatch::Beyond, 2));
    assert_eq!(d.place(), "q-2 (query 2)");
}

#[test]
fn until_and_hold() {
    let r = Arc::new(sample());
    let mut c = ReplayCursor::new(r.clone()).until(1);
    assert_eq!(replayed_text(c.next(&q("q-1", "a"))), "A");
    let mut x = q("q-2", "x");
    x.fork = Some("c".into());
    assert_eq!(
        c.next(&x),
        Step::Handover {
            draft: Some("X".into()),
            stopped: Some(Stop::Until(1))
        }
    );
    let mut c = ReplayCursor::new(r).hold(1);
    assert_eq!(
        c.next(&q("q-1", "a")),
        Step::Handover {
            draft: Some("A".into()),
            stopped: None
        }
    );
    assert_eq!(
        replayed_text(c.next(&x)),
        "X",
        "replay goes on after the held query"
    );
}

#[test]
fn unasked_and_silent_forks_after_a_shorter_run() {
    let mut c = ReplayCursor::new(Arc::new(sample()));
    c.next(&q("q-1", "a"));
    c.next(&q("q-2", "b"));
    let left: Vec<_> = c.unasked().iter().map(|q| q.position).collect();
    assert_eq!(left, [2, 3, 4]);
    assert_eq!(c.silent_forks(), ["c", "d"]);
}

#[test]
fn torn_last_line_is_dropped_with_a_warning_other_bad_lines_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut text = text_of(&[session_line(), query_line(2, "q-1", "a", None, None)]);
    text.push_str("{\"seq\":3,\"t_ms\":0,\"event\":\"ans");
    std::fs::write(&path, &text).unwrap();
    let r = Recording::load(&path).unwrap();
    assert_eq!(r.queries.len(), 1);
    assert!(
        r.warnings[0].contains("t.jsonl:3: the last line is torn"),
        "{:?}",
        r.warnings
    );
    std::fs::write(&path, "{\"seq\":1}\nnot json\n").unwrap();
    let err = Recording::load(&path).unwrap_err().to_string();
    assert!(err.contains("t.jsonl:1"), "{err}");
    std::fs::write(&path, text_of(&[query_line(1, "q-1", "a", None, None)])).unwrap();
    let err = Recording::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("the first line is `query`, expected `session`"),
        "{err}"
    );
}

#[test]
fn diff_rows_per_query() {
    let old = sample();
    let new = recording(&[
        session_line(),
        query_line(2, "q-1", "a", None, None),
        answer_line(3, "q-1", "A2"),
        query_line(4, "q-2", "x", Some("c"), None),
        answer_line(5, "q-2", "X"),
        query_line(6, "q-3", "b changed", None, None),
        answer_line(7, "q-3", "B"),
        query_line(8, "q-4", "extra", None, None),
        end_line(9, json!("other")),
    ]);
    let d = diff(&old, &new);
    let rows: Vec<_> = d
        .queries
        .iter()
        .map(|r| (r.fork.as_deref().unwrap_or("main"), r.order, r.change))
        .collect();
    assert_eq!(
        rows,
        [
            ("main", 1, Change::AnswerChanged),
            ("c", 1, Change::Same),
            ("d", 1, Change::Gone),
            ("c", 2, Change::Gone),
            ("main", 2, Change::PromptChanged),
            ("main", 3, Change::New),
        ]
    );
    assert!(!d.result_same);
    assert!(diff(&old, &old).result_same);
}

#[test]
fn unified_diff_shows_changed_lines_with_context() {
    let old = "one\ntwo\nthree\nfour\nfive\nsix";
    let new = "one\ntwo\nTHREE\nfour\nfive\nsix\nseven";
    let d = unified_diff(old, new, "recorded", "new", 1, 40);
    assert_eq!(
        d,
        [
            "--- recorded",
            "+++ new",
            "@@ -2,3 +2,3 @@",
            " two",
            "-three",
            "+THREE",
            " four",
            "@@ -6 +6,2 @@",
            " six",
            "+seven",
        ]
    );
    assert!(unified_diff("same", "same", "a", "b", 2, 10).is_empty());
    let long_old = (0..100)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let cut = unified_diff(&long_old, "x", "a", "b", 2, 10);
    assert_eq!(cut.len(), 10);
    assert_eq!(cut.last().unwrap(), "…");
}
