//! Tests of what the writer promises when the disk fails: a refused event never shows
//! up, nothing else is lost, torn lines are cut, and a moved transcript is complete.

use std::path::Path;

use super::*;
use crate::engine::event::{Answer, AnswerOrigin, LogLevel};
use crate::engine::transcript::parse;
use crate::testkit::{Fault, FlakySink};

fn log(msg: &str) -> Stamped {
    Stamped {
        seq: 0,
        t_ms: 5,
        event: SessionEvent::Log {
            level: LogLevel::Info,
            msg: msg.into(),
        },
        metrics: Default::default(),
    }
}

fn answer(id: &str, text: &str) -> Stamped {
    Stamped {
        seq: 0,
        t_ms: 9,
        event: SessionEvent::Answered {
            id: id.into(),
            answer: Answer::new(text.to_string(), AnswerOrigin::Human),
        },
        metrics: Default::default(),
    }
}

/// (seq, event kind, msg or answer text) of each line; panics on a malformed file.
fn lines_of(text: &str) -> Vec<(u64, String, String)> {
    parse(text, Path::new("t.jsonl"))
        .expect("a well-formed transcript")
        .into_iter()
        .map(|l| {
            let detail = l
                .str_field("msg")
                .or(l.str_field("text"))
                .unwrap_or("")
                .to_string();
            (l.seq, l.kind, detail)
        })
        .collect()
}

fn summary(text: &str) -> Vec<String> {
    lines_of(text)
        .into_iter()
        .map(|(seq, kind, detail)| format!("{seq} {kind} {detail}"))
        .collect()
}

#[test]
fn a_refused_answer_is_not_in_the_transcript_and_a_retry_writes_everything_once() {
    let sink = FlakySink::new();
    let mut w = sink.writer(Path::new("/x/t.jsonl"));
    w.write(&log("one")).expect("healthy");
    // The disk fills mid-line: part of the answer line reaches the file.
    sink.break_with(Fault::DiskFull { keep: 20 });
    let err = w
        .write_acknowledged(&answer("q-1", "first try"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "transcript /x/t.jsonl: write failed: No space left on device (os error 28)"
    );
    assert_eq!(err.step, WriteStep::Write);
    assert_eq!(w.lines_written(), 1, "the refused answer is not counted");
    assert!(w.failure().is_some());
    sink.heal();
    w.write_acknowledged(&answer("q-1", "second try"))
        .expect("healed");
    assert!(w.failure().is_none());
    assert_eq!(
        summary(&sink.text()),
        ["1 log one", "2 answer second try"],
        "the torn line is cut off and the refused answer never appears"
    );
}

#[test]
fn a_failed_sync_refuses_the_answer_and_the_lost_lines_are_written_again() {
    let sink = FlakySink::new();
    let mut w = sink.writer(Path::new("t.jsonl"));
    w.write_acknowledged(&answer("q-1", "a")).expect("healthy");
    w.write(&log("after")).expect("written, not yet synced");
    sink.break_with(Fault::SyncFails);
    let err = w.write_acknowledged(&answer("q-2", "b")).unwrap_err();
    assert_eq!(err.step, WriteStep::Sync);
    assert!(err.to_string().contains("sync failed"), "{err}");
    // The failed sync dropped everything after the first answer.
    assert_eq!(summary(&sink.text()), ["1 answer a"]);
    sink.heal();
    w.write_acknowledged(&answer("q-2", "b")).expect("healed");
    assert_eq!(
        summary(&sink.text()),
        ["1 answer a", "2 log after", "3 answer b"]
    );
}

#[test]
fn events_after_a_failure_wait_in_memory_until_the_next_answer() {
    let sink = FlakySink::new();
    let mut w = sink.writer(Path::new("t.jsonl"));
    sink.break_with(Fault::DiskFull { keep: 0 });
    assert!(w.write(&log("first")).is_err());
    let calls = sink.calls();
    // While failing, a log line is kept in memory: no write per line.
    assert!(w.write(&log("second")).is_err());
    assert_eq!(sink.calls(), calls);
    assert!(w.write_acknowledged(&answer("q-1", "x")).is_err());
    sink.heal();
    w.write_acknowledged(&answer("q-1", "x")).expect("healed");
    assert_eq!(
        summary(&sink.text()),
        ["1 log first", "2 log second", "3 answer x"]
    );
}

#[test]
fn the_end_line_tries_again_even_while_failing() {
    let sink = FlakySink::new();
    let mut w = sink.writer(Path::new("t.jsonl"));
    sink.break_with(Fault::DiskFull { keep: 3 });
    assert!(w.write(&log("lost for now")).is_err());
    sink.heal();
    let end = Stamped {
        seq: 0,
        t_ms: 10,
        event: SessionEvent::Finished(crate::engine::event::Outcome {
            status: crate::engine::event::Status::Completed,
            result: None,
            error: None,
            metrics: Default::default(),
        }),
        metrics: Default::default(),
    };
    w.write(&end).expect("the end line catches up");
    assert_eq!(summary(&sink.text()), ["1 log lost for now", "2 end "]);
    assert!(w.failure().is_none());
}

#[test]
fn move_to_writes_the_whole_transcript_and_records_there() {
    let dir = tempfile::tempdir().unwrap();
    let sink = FlakySink::new();
    let mut w = sink.writer(Path::new("/full/t.jsonl"));
    w.write(&log("before")).unwrap();
    sink.break_with(Fault::DiskFull { keep: 0 });
    assert!(w.write(&log("unwritten")).is_err());
    assert!(w.write_acknowledged(&answer("q-1", "x")).is_err());
    let moved = dir.path().join("new").join("t.jsonl");
    w.move_to(&moved).expect("a writable place");
    assert_eq!(w.path(), moved);
    w.write_acknowledged(&answer("q-1", "x")).unwrap();
    let text = fs::read_to_string(&moved).unwrap();
    assert_eq!(
        summary(&text),
        ["1 log before", "2 log unwritten", "3 answer x"]
    );
}

#[test]
fn move_to_an_unwritable_place_changes_nothing() {
    let sink = FlakySink::new();
    let mut w = sink.writer(Path::new("t.jsonl"));
    w.write(&log("kept")).unwrap();
    let err = w
        .move_to(Path::new("/proc/no/such/dir/t.jsonl"))
        .unwrap_err();
    assert_eq!(err.step, WriteStep::Create);
    assert!(err
        .to_string()
        .starts_with("transcript /proc/no/such/dir/t.jsonl: create failed: "));
    assert_eq!(w.path(), Path::new("t.jsonl"));
    w.write_acknowledged(&answer("q-1", "x")).unwrap();
    assert_eq!(summary(&sink.text()), ["1 log kept", "2 answer x"]);
}

#[cfg(target_os = "linux")]
#[test]
fn dev_full_opens_and_then_refuses_the_answer() {
    let mut w = TranscriptWriter::create(Path::new("/dev/full")).expect("/dev/full opens");
    assert!(w.write(&log("x")).is_err());
    let err = w.write_acknowledged(&answer("q-1", "x")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "transcript /dev/full: write failed: No space left on device (os error 28)"
    );
}

#[cfg(unix)]
#[test]
fn dev_null_takes_answers_without_syncing() {
    let mut w = TranscriptWriter::create(Path::new("/dev/null")).expect("opens");
    w.write_acknowledged(&answer("q-1", "x"))
        .expect("nothing to sync on a device");
}

#[cfg(unix)]
#[test]
fn a_removed_directory_refuses_answers_until_it_exists_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let path = dir.join("t.jsonl");
    let mut w = TranscriptWriter::create(&path).unwrap();
    w.write(&log("before")).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let err = w.write_acknowledged(&answer("q-1", "x")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "transcript {}: write failed: the file was deleted, or its directory removed, \
             while recording",
            path.display()
        )
    );
    // A retry does not quietly make the directory again.
    let again = w.write_acknowledged(&answer("q-1", "x")).unwrap_err();
    assert_eq!(again.step, WriteStep::Create);
    assert!(!dir.exists());
    // Once it exists again, the retry writes the whole transcript afresh.
    fs::create_dir(&dir).unwrap();
    w.write_acknowledged(&answer("q-1", "x")).unwrap();
    assert_eq!(
        summary(&fs::read_to_string(&path).unwrap()),
        ["1 log before", "2 answer x"]
    );
}
