//! Tests of the transcript writer and reader (kept apart so `transcript.rs` stays short).

use super::*;
use crate::engine::event::{
    Answer, AnswerOrigin, BatchPos, LogLevel, Metrics, Outcome, ScriptError, Site, Status, Usage,
};
use serde_json::json;

fn stamped(seq: u64, t_ms: u64, event: SessionEvent) -> Stamped {
    Stamped {
        seq,
        t_ms,
        event,
        metrics: Default::default(),
    }
}

fn query(id: &str, prompt: &str, batch: Option<BatchPos>) -> Query {
    Query {
        max_tokens_capped: None,
        id: id.into(),
        prompt: prompt.into(),
        system: None,
        max_tokens: 1024,
        grounded: false,
        underspecified: false,
        site: Some(Site {
            file: "demo/cot.lua".into(),
            line: 13,
        }),
        batch,
        fork: None,
    }
}

/// A whole session: start, a batch of two (given out of order), answers, a failure,
/// every side-channel event, and the end.
fn full_session() -> Vec<Stamped> {
    let mut second = query("q-2", "second", Some(BatchPos { index: 1, size: 2 }));
    second.system = Some("be brief".into());
    second.fork = Some("child_pkg".into());
    second.grounded = true;
    let first = query(
        "q-1",
        "first — 日本語",
        Some(BatchPos { index: 0, size: 2 }),
    );
    let mut metrics = Metrics {
        llm_calls: 2,
        prompt_tokens: 10,
        completion_tokens: 5,
        wall_ms: 900,
        elapsed_ms: 400,
        human_ms: 500,
        ..Metrics::default()
    };
    metrics.stats.insert("score".into(), json!(0.5));
    let events = vec![
        SessionEvent::Started {
            script: "demo/cot.lua".into(),
            script_sha256: "ab12".into(),
            ctx: json!({"task": "why?", "budget": {"max_llm_calls": 10}}),
            seed: 42,
            package: None,
            state: Default::default(),
            lineage: Default::default(),
        },
        SessionEvent::Paused {
            pause: 1,
            queries: vec![second, first],
        },
        SessionEvent::Answered {
            id: "q-1".into(),
            answer: Answer {
                finish: None,
                served_model: None,
                text: "Rayleigh scattering ✓".into(),
                source: AnswerOrigin::ProviderEdited,
                model: Some("gpt-x".into()),
                usage: Some(Usage {
                    prompt_tokens: 10,
                    completion_tokens: 5,
                }),
                latency_ms: 321,
                provider: Some("local".into()),
            },
        },
        SessionEvent::Answered {
            id: "q-2".into(),
            answer: Answer::new("typed by hand", AnswerOrigin::Human),
        },
        SessionEvent::Resumed { pause: 1 },
        SessionEvent::Log {
            level: LogLevel::Warn,
            msg: "careful".into(),
        },
        SessionEvent::Progress {
            step: 1,
            total: 5,
            msg: None,
        },
        SessionEvent::Stat {
            key: "score".into(),
            value: json!(0.5),
        },
        SessionEvent::State {
            ns: "default".into(),
            key: "runs".into(),
            op: "incr".into(),
        },
        SessionEvent::Paused {
            pause: 2,
            queries: vec![query("q-3", "third", None)],
        },
        SessionEvent::QueryFailed {
            id: "q-3".into(),
            error: "provider timed out".into(),
        },
        SessionEvent::Resumed { pause: 2 },
        SessionEvent::Finished(Outcome {
            status: Status::Failed,
            result: None,
            error: Some(ScriptError {
                message: "boom".into(),
                site: Some(Site {
                    file: "demo/cot.lua".into(),
                    line: 20,
                }),
                traceback: Some("stack traceback:\n\t...".into()),
            }),
            metrics,
        }),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| stamped(i as u64, i as u64 * 100, event))
        .collect()
}

fn write_all(path: &Path, events: &[Stamped]) {
    let mut writer = TranscriptWriter::create(path).expect("create");
    for ev in events {
        writer.write(ev).expect("write");
    }
}

#[test]
fn full_session_round_trips() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("deep").join("dir").join("run.jsonl");
    write_all(&path, &full_session());
    let lines = read(&path).expect("read");

    let kinds: Vec<&str> = lines.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "session",
            "query",
            "query",
            "answer",
            "answer",
            "resumed",
            "log",
            "progress",
            "stat",
            "state",
            "query",
            "query_failed",
            "resumed",
            "end"
        ]
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.seq, i as u64 + 1, "seq is the line sequence");
        assert_eq!(line.line_no, i + 1);
        assert_eq!(line.data["seq"], json!(line.seq));
        assert_eq!(line.data["event"], json!(line.kind));
    }
    // Both queries of one pause carry that event's time.
    assert_eq!((lines[1].t_ms, lines[2].t_ms), (100, 100));

    let session = &lines[0].data;
    assert_eq!(session["script"], "demo/cot.lua");
    assert_eq!(session["script_sha256"], "ab12");
    assert_eq!(session["ctx"]["budget"]["max_llm_calls"], 10);
    assert_eq!(session["seed"], 42);
    assert_eq!(session["version"], env!("CARGO_PKG_VERSION"));

    // Batch members in index order, whatever order the event listed them in.
    let (q1, q2) = (&lines[1].data, &lines[2].data);
    assert_eq!(q1["id"], "q-1");
    assert_eq!(q1["prompt"], "first — 日本語");
    assert_eq!(q1["system"], Value::Null);
    assert_eq!(q1["max_tokens"], 1024);
    assert_eq!(q1["grounded"], false);
    assert_eq!(q1["underspecified"], false);
    assert_eq!(q1["site"], json!({"file": "demo/cot.lua", "line": 13}));
    assert_eq!(q1["batch"], json!({"index": 0, "size": 2}));
    assert!(q1.get("fork").is_none(), "fork only when from a fork child");
    assert_eq!(q1["pause"], 1);
    assert_eq!(q2["id"], "q-2");
    assert_eq!(q2["system"], "be brief");
    assert_eq!(q2["grounded"], true);
    assert_eq!(q2["fork"], "child_pkg");
    assert!(
        lines[10].data.get("batch").is_none(),
        "batch only when batched"
    );

    let edited = &lines[3].data;
    assert_eq!(edited["id"], "q-1");
    assert_eq!(edited["text"], "Rayleigh scattering ✓");
    assert_eq!(edited["source"], "provider+edited");
    assert_eq!(edited["model"], "gpt-x");
    assert_eq!(
        edited["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 5})
    );
    assert_eq!(edited["latency_ms"], 321);
    let typed = &lines[4].data;
    assert_eq!(typed["source"], "human");
    assert_eq!(typed["model"], Value::Null);
    assert_eq!(typed["usage"], Value::Null);

    assert_eq!(lines[5].data["pause"], 1);
    assert_eq!(lines[6].data["level"], "warn");
    assert_eq!(lines[6].data["msg"], "careful");
    assert_eq!(
        (
            &lines[7].data["step"],
            &lines[7].data["total"],
            &lines[7].data["msg"]
        ),
        (&json!(1), &json!(5), &Value::Null)
    );
    assert_eq!(lines[8].data["key"], "score");
    assert_eq!(lines[8].data["value"], 0.5);
    assert_eq!(lines[9].data["ns"], "default");
    assert_eq!(lines[9].data["key"], "runs");
    assert_eq!(lines[9].data["op"], "incr");
    assert_eq!(lines[11].data["id"], "q-3");
    assert_eq!(lines[11].data["error"], "provider timed out");

    let end = &lines[13].data;
    assert_eq!(end["status"], "failed");
    assert_eq!(end["result"], Value::Null);
    assert_eq!(end["error"]["message"], "boom");
    assert_eq!(
        end["error"]["site"],
        json!({"file": "demo/cot.lua", "line": 20})
    );
    assert_eq!(end["error"]["traceback"], "stack traceback:\n\t...");
    assert_eq!(end["metrics"]["llm_calls"], 2);
    assert_eq!(end["metrics"]["human_ms"], 500);
    assert_eq!(end["metrics"]["stats"]["score"], 0.5);
    let metrics: Metrics = serde_json::from_value(end["metrics"].clone()).expect("metrics");
    assert_eq!(metrics.elapsed_ms, 400);
}

#[test]
fn lines_start_with_seq_t_ms_event() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("t.jsonl");
    write_all(&path, &full_session());
    let text = fs::read_to_string(&path).expect("read");
    assert!(text.ends_with("}\n"));
    for (i, line) in text.lines().enumerate() {
        let prefix = format!("{{\"seq\":{},\"t_ms\":", i + 1);
        assert!(line.starts_with(&prefix), "line {}: {line}", i + 1);
        assert!(line.contains(",\"event\":\""), "{line}");
    }
}

#[test]
fn writer_flushes_each_event_and_counts_lines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("live.jsonl");
    let events = full_session();
    let mut writer = TranscriptWriter::create(&path).expect("create");
    writer.write(&events[0]).expect("write");
    writer.write(&events[1]).expect("write");
    writer.write(&events[2]).expect("write");
    // Readable while the writer is still open: nothing sits in the buffer.
    let lines = read(&path).expect("read");
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3].str_field("text"), Some("Rayleigh scattering ✓"));
    assert_eq!(writer.lines_written(), 4);
    assert_eq!(writer.path(), path);
}

#[test]
fn create_truncates_existing_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("t.jsonl");
    fs::write(&path, "old junk that is not json\n".repeat(10)).expect("write");
    let events = full_session();
    write_all(&path, &events[..1]);
    let lines = read(&path).expect("read");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].kind, "session");
}

#[test]
fn event_lines_match_written_lines_except_seq() {
    let events = full_session();
    let paused = &events[1];
    let objects = event_lines(paused);
    assert_eq!(objects.len(), 2);
    for object in &objects {
        assert_eq!(object["seq"], json!(paused.seq));
        assert_eq!(object["t_ms"], json!(paused.t_ms));
        assert_eq!(object["event"], "query");
    }
    assert_eq!(objects[0]["id"], "q-1");
    assert_eq!(objects[1]["id"], "q-2");

    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("t.jsonl");
    write_all(&path, &events);
    let written = read(&path).expect("read");
    let expected: Vec<Value> = events.iter().flat_map(event_lines).collect();
    assert_eq!(written.len(), expected.len());
    for (line, mut object) in written.into_iter().zip(expected) {
        object["seq"] = json!(line.seq);
        assert_eq!(line.data, object);
    }
}

#[test]
fn huge_prompt_round_trips() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("big.jsonl");
    let prompt = "line of text with \"quotes\" and ünïcödé\n".repeat(10 * 1024 * 1024 / 40);
    assert!(prompt.len() >= 10 * 1000 * 1000);
    let event = stamped(
        0,
        5,
        SessionEvent::Paused {
            pause: 1,
            queries: vec![query("q-1", &prompt, None)],
        },
    );
    write_all(&path, &[event]);
    let lines = read(&path).expect("read");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].str_field("prompt"), Some(prompt.as_str()));
}

#[test]
fn malformed_lines_are_reported_by_number() {
    let p = Path::new("x.jsonl");
    let good = r#"{"seq":1,"t_ms":0,"event":"session"}"#;
    let cases = [
        (format!("{good}\n{good}\n{{not json\n"), 3, "bad JSON"),
        (format!("{good}\n[1,2]\n"), 2, "JSON object"),
        (
            format!("{good}\n{{\"t_ms\":0,\"event\":\"log\"}}\n"),
            2,
            "missing `seq`",
        ),
        (
            format!("{{\"seq\":\"1\",\"t_ms\":0,\"event\":\"log\"}}\n{good}"),
            1,
            "`seq` must be",
        ),
        (
            format!("{good}\n{{\"seq\":2,\"event\":\"log\"}}"),
            2,
            "missing `t_ms`",
        ),
        (
            format!("{good}\n{{\"seq\":2,\"t_ms\":-1,\"event\":\"log\"}}"),
            2,
            "`t_ms` must be",
        ),
        (
            format!("{good}\n{{\"seq\":2,\"t_ms\":1.5,\"event\":\"log\"}}"),
            2,
            "`t_ms` must be",
        ),
        (
            format!("{good}\n{{\"seq\":2,\"t_ms\":1}}"),
            2,
            "missing `event`",
        ),
        (
            format!("{good}\n\n{{\"seq\":3,\"t_ms\":1,\"event\":7}}"),
            3,
            "`event` must be",
        ),
        // A line cut short by a crash mid-write.
        (
            format!("{good}\n{{\"seq\":2,\"t_ms\":1,\"event\":\"ans"),
            2,
            "bad JSON",
        ),
    ];
    for (text, expected_line, expected_msg) in cases {
        match parse(&text, p) {
            Err(TranscriptError::Malformed { path, line, msg }) => {
                assert_eq!(path, p);
                assert_eq!(line, expected_line, "{text:?}: {msg}");
                assert!(msg.contains(expected_msg), "{text:?}: {msg}");
            }
            other => panic!("{text:?}: expected Malformed, got {other:?}"),
        }
    }
    let err = parse(&format!("{good}\n{{oops"), p).expect_err("malformed");
    assert!(
        err.to_string().starts_with("transcript x.jsonl:2: "),
        "{err}"
    );
}

#[test]
fn blank_lines_and_crlf_are_accepted() {
    let p = Path::new("x.jsonl");
    let text = "{\"seq\":1,\"t_ms\":0,\"event\":\"session\"}\r\n\r\n{\"seq\":2,\"t_ms\":3,\"event\":\"log\",\"msg\":\"é\"}\n\n";
    let lines = parse(text, p).expect("parse");
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[1].line_no, lines[1].seq, lines[1].t_ms), (3, 2, 3));
    assert_eq!(lines[1].str_field("msg"), Some("é"));
    assert!(parse("", p).expect("empty").is_empty());
}

#[test]
fn read_reports_missing_file_and_bad_utf8() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("missing.jsonl");
    assert!(matches!(read(&missing), Err(TranscriptError::Io { .. })));

    let bad = tmp.path().join("bad.jsonl");
    let mut bytes = b"{\"seq\":1,\"t_ms\":0,\"event\":\"session\"}\n".to_vec();
    bytes.extend_from_slice(b"{\"seq\":2,\"t_ms\":0,\"event\":\"log\",\"msg\":\"\xff\"}\n");
    fs::write(&bad, bytes).expect("write");
    match read(&bad) {
        Err(TranscriptError::Malformed { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected Malformed, got {other:?}"),
    }
}
