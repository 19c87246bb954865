//! The transcript's promise, on real Lua: an answer the transcript cannot record is
//! not acknowledged, the strategy stays paused, and the person's three ways on (retry,
//! record elsewhere, go on unrecorded) each work. The disk is a [`FlakySink`].

mod support;

use std::path::Path;

use alc_workbench::engine::transcript::{self, TranscriptLine};
use alc_workbench::engine::{
    Answer, AnswerOrigin, EngineError, EventStream, LogLevel, Outcome, Session, SessionEvent,
    Stamped, Status,
};
use alc_workbench::testkit::{Fault, FlakySink};
use serde_json::json;
use support::config;

/// Asks once, logs what it got, returns it: a resumed strategy leaves a log line.
const ASK_THEN_LOG: &str =
    "local a = alc.llm('first?')\nalc.log('info', 'resumed with ' .. a)\nreturn a";

const PATH: &str = "/x/t.jsonl";

fn start(code: &str, sink: &FlakySink) -> (Session, EventStream) {
    Session::start_with_transcript(config(code), sink.writer(Path::new(PATH)))
        .expect("session starts")
}

fn person(text: &str) -> Answer {
    Answer::new(text.to_string(), AnswerOrigin::Human)
}

/// Events up to and including the first that `stop` accepts.
fn until(events: &mut EventStream, stop: impl Fn(&SessionEvent) -> bool) -> Vec<Stamped> {
    let mut seen = Vec::new();
    while let Some(ev) = events.blocking_recv() {
        let done = stop(&ev.event);
        seen.push(ev);
        if done {
            return seen;
        }
    }
    panic!("the stream closed early; saw {seen:?}");
}

fn paused(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::Paused { .. })
}

fn finished(events: &mut EventStream) -> (Outcome, Vec<Stamped>) {
    let seen = until(events, |e| matches!(e, SessionEvent::Finished(_)));
    match &seen.last().unwrap().event {
        SessionEvent::Finished(o) => (o.clone(), seen),
        _ => unreachable!(),
    }
}

fn kinds(events: &[Stamped]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.kind()).collect()
}

fn read(text: &str) -> Vec<TranscriptLine> {
    let lines = transcript::parse(text, Path::new(PATH)).expect("well-formed");
    let seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
    let expected: Vec<u64> = (1..=lines.len() as u64).collect();
    assert_eq!(seqs, expected, "seq runs 1..n with no gap: {text}");
    lines
}

fn line_kinds(lines: &[TranscriptLine]) -> Vec<&str> {
    lines.iter().map(|l| l.kind.as_str()).collect()
}

fn refused_answer(session: &Session, text: &str) -> EngineError {
    let err = session
        .answer("q-1", person(text))
        .expect_err("the transcript cannot record it");
    assert!(err.unrecorded().is_some(), "{err}");
    err
}

#[test]
fn an_unrecorded_answer_is_refused_and_a_retry_resumes_the_strategy() {
    let sink = FlakySink::new();
    let (session, mut events) = start(ASK_THEN_LOG, &sink);
    until(&mut events, paused);
    sink.break_with(Fault::DiskFull { keep: 12 });
    let err = refused_answer(&session, "never delivered");
    assert_eq!(
        err.to_string(),
        "transcript /x/t.jsonl: write failed: No space left on device (os error 28); \
         the answer to q-1 was not acknowledged"
    );
    // Still pending (a second try is refused by the disk, not as unknown), still
    // running, and nothing was published for the refused answer.
    refused_answer(&session, "never delivered either");
    assert!(!session.is_finished());
    assert!(
        events.try_recv().is_err(),
        "no event after a refused answer"
    );

    sink.heal();
    session.answer("q-1", person("kept")).expect("retry works");
    let (outcome, after) = finished(&mut events);
    // The VM only ever got the retried answer.
    assert_eq!(outcome.status, Status::Completed);
    assert_eq!(outcome.result, Some(json!("kept")));
    assert_eq!(kinds(&after), ["answer", "resumed", "log", "end"]);
    assert_eq!(outcome.metrics.llm_calls, 1);

    let lines = read(&sink.text());
    assert_eq!(
        line_kinds(&lines),
        ["session", "query", "answer", "resumed", "log", "end"]
    );
    assert_eq!(lines[2].str_field("text"), Some("kept"));
    assert!(!sink.text().contains("never delivered"));
}

#[test]
fn a_refused_failure_is_not_delivered_either() {
    let sink = FlakySink::new();
    let (session, mut events) = start(
        "local ok, err = pcall(alc.llm, 'q')\nreturn tostring(err)",
        &sink,
    );
    until(&mut events, paused);
    sink.break_with(Fault::SyncFails);
    let err = session.fail("q-1", "provider down").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "sync failed: Input/output error (os error 5); the failure of q-1 was not acknowledged"
        ),
        "{err}"
    );
    sink.heal();
    session.fail("q-1", "provider down").expect("retry works");
    let (outcome, _) = finished(&mut events);
    assert!(outcome
        .result
        .unwrap()
        .as_str()
        .unwrap()
        .contains("provider down"));
    let lines = read(&sink.text());
    assert_eq!(
        line_kinds(&lines),
        ["session", "query", "query_failed", "resumed", "end"]
    );
}

#[test]
fn redirect_writes_the_whole_transcript_elsewhere_then_the_answer_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("more").join("t2.jsonl");
    let sink = FlakySink::new();
    let (session, mut events) = start(ASK_THEN_LOG, &sink);
    until(&mut events, paused);
    sink.break_with(Fault::DiskFull { keep: 0 });
    refused_answer(&session, "x");

    // A place that cannot be written: nothing moves, the answer is still refused.
    let err = session
        .redirect_transcript(Path::new("/proc/nope/t.jsonl"))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("transcript /proc/nope/t.jsonl: create failed: "),
        "{err}"
    );
    assert!(err
        .to_string()
        .ends_with("; the transcript stays at /x/t.jsonl"));
    refused_answer(&session, "x");

    session.redirect_transcript(&elsewhere).expect("writable");
    assert_eq!(session.transcript_path(), Some(elsewhere.clone()));
    session.answer("q-1", person("after the move")).unwrap();
    let (outcome, _) = finished(&mut events);
    assert_eq!(outcome.result, Some(json!("after the move")));

    let lines = read(&std::fs::read_to_string(&elsewhere).unwrap());
    assert_eq!(
        line_kinds(&lines),
        ["session", "query", "log", "answer", "resumed", "log", "end"]
    );
    let moved = lines[2].str_field("msg").unwrap();
    assert_eq!(
        moved,
        format!(
            "transcript moved from /x/t.jsonl to {}; the new file holds the whole transcript",
            elsewhere.display()
        )
    );
    assert!(session.transcript_failure().is_none());
}

#[test]
fn stop_recording_is_an_event_and_later_answers_go_on_unrecorded() {
    let sink = FlakySink::new();
    let (session, mut events) = start(
        "local a = alc.llm('one')\nlocal b = alc.llm('two')\nreturn a .. b",
        &sink,
    );
    until(&mut events, paused);
    sink.break_with(Fault::DiskFull { keep: 0 });
    refused_answer(&session, "a");
    session.stop_recording("the person chose to");
    let stop = events.blocking_recv().unwrap();
    match &stop.event {
        SessionEvent::Log { level, msg } => {
            assert_eq!(*level, LogLevel::Warn);
            assert_eq!(
                msg,
                "transcript /x/t.jsonl: recording stopped (the person chose to); \
                 later events are not recorded"
            );
        }
        other => panic!("expected the choice as a log event, got {other:?}"),
    }
    assert_eq!(session.transcript_path(), None);
    session.answer("q-1", person("a")).expect("unrecorded now");
    until(&mut events, paused);
    session.answer("q-2", person("b")).expect("unrecorded now");
    let (outcome, _) = finished(&mut events);
    assert_eq!(outcome.result, Some(json!("ab")));
    assert!(!sink.text().contains("\"answer\""));
    assert!(session.transcript_failure().is_none());
}

#[test]
fn a_transcript_failing_from_the_start_says_so_and_holds_the_first_answer() {
    let sink = FlakySink::new();
    sink.break_with(Fault::DiskFull { keep: 5 });
    let (session, mut events) = start(ASK_THEN_LOG, &sink);
    let before = until(&mut events, paused);
    assert_eq!(kinds(&before), ["session", "log", "query"]);
    match &before[1].event {
        SessionEvent::Log { level, msg } => {
            assert_eq!(*level, LogLevel::Error);
            assert_eq!(
                msg,
                "transcript /x/t.jsonl: write failed: No space left on device (os error 28); \
                 the events are kept in memory and written with the next answer, which is \
                 not acknowledged until they are"
            );
        }
        other => panic!("expected an error log, got {other:?}"),
    }
    assert!(session.transcript_failure().is_some());
    refused_answer(&session, "x");
    sink.heal();
    session.answer("q-1", person("y")).unwrap();
    finished(&mut events);
    let lines = read(&sink.text());
    assert_eq!(
        line_kinds(&lines),
        ["session", "log", "query", "answer", "resumed", "log", "end"]
    );
    assert!(session.transcript_failure().is_none());
}

/// The figures follow the transcript: a refused answer counts nothing and does not end
/// the person's wait (the query is still theirs), and the answer that is recorded
/// carries its own call in the metrics of its event.
#[test]
fn a_refused_answer_counts_nothing_and_the_recorded_one_carries_its_call() {
    let sink = FlakySink::new();
    let (session, mut events) = start(ASK_THEN_LOG, &sink);
    until(&mut events, paused);
    session.person_ready("q-1").expect("q-1 is pending");
    sink.break_with(Fault::DiskFull { keep: 12 });
    refused_answer(&session, "never delivered");
    let before = session.metrics();
    assert_eq!(
        (
            before.llm_calls,
            before.failed_calls,
            before.completion_tokens
        ),
        (0, 0, 0),
        "{before:?}"
    );
    // What is measured here is time passing while the query is still the person's.
    std::thread::sleep(std::time::Duration::from_millis(60));
    let later = session.metrics();
    assert!(
        later.human_ms >= before.human_ms + 50,
        "the wait goes on after a refusal: {before:?} then {later:?}"
    );
    assert!(
        later.elapsed_ms <= before.elapsed_ms + 5,
        "the person's time is not charged: {before:?} then {later:?}"
    );

    sink.heal();
    session.answer("q-1", person("kept")).expect("retry works");
    let (outcome, after) = finished(&mut events);
    let answered = after
        .iter()
        .find(|e| e.event.kind() == "answer")
        .expect("the answer event");
    assert_eq!(answered.metrics.llm_calls, 1, "{:?}", answered.metrics);
    assert_eq!(answered.metrics.estimated_calls, 1);
    assert!(answered.metrics.completion_tokens > 0);
    assert!(answered.metrics.human_ms >= later.human_ms);
    assert_eq!(outcome.metrics.llm_calls, 1);
}

/// Answers every query on the VM thread (as a headless replay does).
struct InstantAll;

impl alc_workbench::engine::InstantAnswers for InstantAll {
    fn answer_now(&self, _query: &alc_workbench::engine::Query) -> Option<Answer> {
        Some(Answer::new("replayed text", AnswerOrigin::Replay))
    }
}

/// An answer given on the VM thread (`engine::instant`) that the transcript refuses is
/// not acknowledged either: with no driver to hold the strategy paused, the session
/// ends with the error, and a `pcall` around the call cannot make it go on.
#[test]
fn an_unrecorded_instant_answer_ends_the_session_with_the_error() {
    let sink = FlakySink::new();
    sink.break_with(Fault::DiskFull { keep: 0 });
    let mut cfg = config("local ok = pcall(alc.llm, 'first?')\nreturn 'went on'");
    cfg.instant_answers = Some(alc_workbench::engine::InstantHook(std::sync::Arc::new(
        InstantAll,
    )));
    let (_session, mut events) =
        Session::start_with_transcript(cfg, sink.writer(Path::new(PATH))).expect("starts");
    let (outcome, seen) = finished(&mut events);
    assert_eq!(outcome.status, Status::Failed, "{outcome:?}");
    let message = outcome.error.unwrap().message;
    assert!(
        message.contains("write failed")
            && message.contains("the answer to q-1 was not acknowledged"),
        "{message}"
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(&e.event, SessionEvent::Answered { .. })),
        "nothing was answered"
    );
    assert!(!sink.text().contains("replayed text"));
}
