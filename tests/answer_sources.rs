//! Answer sources driven end to end through the public API, with real `sh` processes.
//!
//! The long-lived coprocess gets most of the attention here: thousands of queries,
//! error and malformed replies, a process that dies, one that hangs, and one that
//! must be killed when the source is dropped.

use std::sync::Arc;
use std::time::Duration;

use alc_workbench::answer::{
    AnswerSource, CoprocessError, CoprocessSource, ScriptSource, SourceError,
};
use alc_workbench::engine::{AnswerOrigin, Query, Usage};

fn query(id: &str, prompt: &str) -> Query {
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

/// A coprocess that answers `ok <n> <id>` to every query, using only shell builtins
/// (no fork per query) so thousands of queries stay fast.
const ECHO_ID: &str = r#"n=0
while IFS= read -r line; do
  n=$((n+1))
  id=${line#*\"id\":\"}; id=${id%%\"*}
  printf '{"answer":"ok %s %s"}\n' "$n" "$id"
done"#;

fn spawn(script: &str) -> CoprocessSource {
    CoprocessSource::spawn(script, Duration::from_secs(20)).expect("coprocess starts")
}

#[tokio::test]
async fn coprocess_answers_two_thousand_queries_in_order() {
    let source = spawn(ECHO_ID);
    for n in 1..=2000 {
        let id = format!("q-{n}");
        let answer = source
            .answer(&query(&id, "same prompt"))
            .await
            .expect("answer");
        assert_eq!(answer.text, format!("ok {n} {id}"));
        assert_eq!(answer.source, AnswerOrigin::Command);
    }
}

#[tokio::test]
async fn concurrent_queries_are_serialised_and_each_gets_its_own_reply() {
    let source = Arc::new(spawn(ECHO_ID));
    let mut tasks = Vec::new();
    for n in 1..=50 {
        let source = Arc::clone(&source);
        tasks.push(tokio::spawn(async move {
            let id = format!("q-{n}");
            let answer = source.answer(&query(&id, "p")).await;
            (id, answer)
        }));
    }
    let mut counters = Vec::new();
    for task in tasks {
        let (id, answer) = task.await.expect("task");
        let text = answer.expect("answer").text;
        let mut words = text.split(' ');
        assert_eq!(words.next(), Some("ok"));
        counters.push(
            words
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .expect("counter"),
        );
        assert_eq!(
            words.next(),
            Some(id.as_str()),
            "reply paired with the wrong query"
        );
    }
    counters.sort_unstable();
    assert_eq!(counters, (1..=50).collect::<Vec<u32>>());
}

#[tokio::test]
async fn coprocess_receives_the_serialised_query() {
    let source = spawn(
        r#"while IFS= read -r line; do printf '{"answer":"%s"}\n' "$(printf '%s' "$line" | sed 's/\\/\\\\/g; s/"/\\"/g')"; done"#,
    );
    let mut q = query("q-4", "line one\nsays \"hi\"");
    q.system = Some("sys".into());
    let text = source.answer(&q).await.expect("answer").text;
    let echoed: Query = serde_json::from_str(&text).expect("query JSON");
    assert_eq!(echoed, q);
}

#[tokio::test]
async fn model_and_usage_are_recorded() {
    let source = spawn(
        r#"while IFS= read -r line; do printf '{"answer":"x","model":"m1","usage":{"prompt_tokens":3,"completion_tokens":4}}\n'; done"#,
    );
    let answer = source.answer(&query("q-1", "p")).await.expect("answer");
    assert_eq!(answer.model.as_deref(), Some("m1"));
    assert_eq!(
        answer.usage,
        Some(Usage {
            prompt_tokens: 3,
            completion_tokens: 4
        })
    );
}

#[tokio::test]
async fn error_replies_fail_one_query_and_keep_the_coprocess() {
    let source = spawn(
        r#"n=0
while IFS= read -r line; do
  n=$((n+1))
  if [ $n -eq 1 ]; then echo '{"error":"rate limited"}'; else echo '{"answer":"fine"}'; fi
done"#,
    );
    assert_eq!(
        source.answer(&query("q-1", "p")).await,
        Err(SourceError::Failed("rate limited".into()))
    );
    assert_eq!(
        source.answer(&query("q-2", "p")).await.expect("ok").text,
        "fine"
    );
}

#[tokio::test]
async fn malformed_reply_fails_naming_the_line_and_stops_the_coprocess() {
    let source = spawn(r#"while IFS= read -r line; do echo 'debug: thinking...'; done"#);
    let err = source
        .answer(&query("q-1", "p"))
        .await
        .expect_err("malformed");
    let SourceError::Failed(message) = &err else {
        panic!("expected Failed, got {err:?}");
    };
    assert!(message.contains("malformed reply to q-1"), "{message}");
    assert!(
        message.ends_with("the line was: debug: thinking...; it has been stopped"),
        "{message}"
    );
    let later = source.answer(&query("q-2", "p")).await.expect_err("broken");
    assert_eq!(
        later.to_string(),
        "answer coprocess is not usable any more: it sent a malformed reply to q-1 \
         (expected one JSON object per line, like {\"answer\": \"…\"}); the line was: debug: thinking..."
    );
}

#[tokio::test]
async fn a_coprocess_that_dies_reports_status_and_stderr() {
    let source = spawn(r#"read -r line; echo 'fatal: no API key' >&2; exit 3"#);
    assert_eq!(
        source.answer(&query("q-1", "p")).await,
        Err(SourceError::Failed(
            "answer coprocess exited with status 3 before answering q-1: fatal: no API key".into()
        ))
    );
    assert_eq!(
        source.answer(&query("q-2", "p")).await,
        Err(SourceError::Failed(
            "answer coprocess is not usable any more: it exited with status 3 before answering q-1"
                .into()
        ))
    );
}

#[tokio::test]
async fn a_coprocess_that_exits_after_some_answers() {
    let source = spawn(r#"read -r line; echo '{"answer":"only one"}'; echo bye >&2"#);
    assert_eq!(
        source.answer(&query("q-1", "p")).await.expect("first").text,
        "only one"
    );
    let err = source.answer(&query("q-2", "p")).await.expect_err("gone");
    assert_eq!(
        err,
        SourceError::Failed(
            "answer coprocess exited with status 0 before answering q-2: bye".into()
        )
    );
}

#[tokio::test]
async fn a_hanging_coprocess_times_out_and_is_stopped() {
    let source = CoprocessSource::spawn("read -r line; exec sleep 60", Duration::from_millis(300))
        .expect("starts");
    assert_eq!(
        source.answer(&query("q-3", "p")).await,
        Err(SourceError::Timeout(
            "answer coprocess timed out after 300ms for q-3; it has been stopped".into()
        ))
    );
    assert_eq!(
        source.answer(&query("q-4", "p")).await,
        Err(SourceError::Failed(
            "answer coprocess is not usable any more: it did not reply to q-3 within 300ms".into()
        ))
    );
}

#[tokio::test]
async fn dropping_the_source_kills_the_coprocess() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("alive");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // The coprocess holds the FIFO's write end for as long as it lives; our read of
    // the FIFO reaches end-of-file exactly when it dies. No sleeping or polling.
    let script = format!("exec 3>'{}'; {ECHO_ID}", fifo.display());
    let source = spawn(&script);
    let reader = {
        let fifo = fifo.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut file = std::fs::File::open(fifo).expect("open fifo");
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).map(|_| rest.len())
        })
    };
    assert_eq!(
        source.answer(&query("q-1", "p")).await.expect("alive").text,
        "ok 1 q-1"
    );
    drop(source);
    let ended = tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .expect("coprocess died after drop")
        .expect("reader task");
    assert_eq!(ended.expect("read fifo"), 0);
}

#[tokio::test]
async fn a_cancelled_querys_late_reply_is_not_given_to_the_next_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let control = dir.path().join("control");
    let received = dir.path().join("received");
    for fifo in [&control, &received] {
        let made = std::process::Command::new("mkfifo").arg(fifo).status();
        assert!(made.expect("mkfifo runs").success());
    }
    // The coprocess tells us on `received` when a request arrived, and replies only
    // after we write a line to `control`: the test decides when replies happen.
    let script = format!(
        r#"exec 4<'{}' 5>'{}'
while IFS= read -r line; do
  id=${{line#*\"id\":\"}}; id=${{id%%\"*}}
  echo got >&5
  read -r go <&4
  printf '{{"answer":"%s"}}\n' "$id"
done"#,
        control.display(),
        received.display()
    );
    let opener = tokio::task::spawn_blocking(move || {
        let control = std::fs::OpenOptions::new().write(true).open(control);
        let received = std::fs::File::open(received);
        (
            control.expect("open control"),
            received.expect("open received"),
        )
    });
    let source = Arc::new(spawn(&script));
    let (mut control, received) = opener.await.expect("fifos open");

    let first = tokio::spawn({
        let source = Arc::clone(&source);
        async move { source.answer(&query("q-1", "p")).await }
    });
    // The reader is handed back and kept open: the coprocess writes to it again.
    let got = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(received);
        let mut line = String::new();
        reader.read_line(&mut line).map(|_| (line, reader))
    });
    let (line, _received) = got.await.expect("reader").expect("read");
    assert_eq!(line, "got\n");
    // q-1's request is with the coprocess; cancel it before its reply exists.
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());

    use std::io::Write;
    control
        .write_all(b"go\ngo\n")
        .expect("release both replies");
    let second = source
        .answer(&query("q-2", "p"))
        .await
        .expect("q-2 answered");
    assert_eq!(second.text, "q-2");
}

#[tokio::test]
async fn spawn_failure_of_the_program_shows_on_first_query() {
    let source = spawn("definitely-not-a-program-alc");
    let err = source
        .answer(&query("q-1", "p"))
        .await
        .expect_err("no program");
    let message = err.to_string();
    assert!(
        message.starts_with("answer coprocess exited with status 127 before answering q-1: "),
        "{message}"
    );
    assert!(
        message.contains("definitely-not-a-program-alc"),
        "{message}"
    );
}

#[test]
fn coprocess_errors_display() {
    let err = CoprocessError::Spawn {
        cmdline: "x".into(),
        source: std::io::Error::other("boom"),
    };
    assert_eq!(
        err.to_string(),
        "could not start answer coprocess `x`: boom"
    );
}

#[tokio::test]
async fn sources_work_as_trait_objects() {
    let sources: Vec<Box<dyn AnswerSource>> = vec![
        Box::new(
            ScriptSource::parse(r#"{"match": "", "answer": "scripted"}"#, "t").expect("valid"),
        ),
        Box::new(spawn(ECHO_ID)),
    ];
    let names: Vec<&str> = sources.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["answers file", "coprocess"]);
    for source in &sources {
        assert!(source.answer(&query("q-1", "p")).await.is_ok());
    }
}

#[tokio::test]
async fn restart_starts_an_answers_file_from_its_top() {
    let source = ScriptSource::parse(
        "{\"answer\": \"first\"}\n{\"answer\": \"second\"}\n",
        "answers.jsonl",
    )
    .unwrap();
    let text = |r: Result<alc_workbench::engine::Answer, SourceError>| r.unwrap().text;
    assert_eq!(text(source.answer(&query("q-1", "a")).await), "first");
    assert_eq!(text(source.answer(&query("q-2", "b")).await), "second");
    assert!(source.answer(&query("q-3", "c")).await.is_err(), "ran out");
    source.restart().await;
    assert_eq!(source.remaining(), 2);
    assert_eq!(text(source.answer(&query("q-1", "a")).await), "first");
}

#[tokio::test]
async fn restart_gives_a_fresh_coprocess() {
    let source = spawn(ECHO_ID);
    assert_eq!(
        source.answer(&query("q-1", "a")).await.unwrap().text,
        "ok 1 q-1"
    );
    assert_eq!(
        source.answer(&query("q-2", "b")).await.unwrap().text,
        "ok 2 q-2"
    );
    source.restart().await;
    // A new process: its count starts again.
    assert_eq!(
        source.answer(&query("q-1", "a")).await.unwrap().text,
        "ok 1 q-1"
    );
}

#[tokio::test]
async fn restart_replaces_a_coprocess_that_exited() {
    let source = spawn(r#"read -r line; printf '{"answer":"once"}\n'"#);
    assert_eq!(
        source.answer(&query("q-1", "a")).await.unwrap().text,
        "once"
    );
    assert!(
        source.answer(&query("q-2", "b")).await.is_err(),
        "it exited"
    );
    source.restart().await;
    assert_eq!(
        source.answer(&query("q-3", "c")).await.unwrap().text,
        "once"
    );
}

/// `ctrl-r` (or a failed batch item) may drop a query while its large request is
/// still being written to a coprocess that reads slowly. The next query finishes that
/// request, discards its reply and gets its own: the coprocess is not broken.
#[tokio::test]
async fn a_request_cancelled_while_being_written_is_finished_by_the_next_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let control = dir.path().join("control");
    let made = std::process::Command::new("mkfifo").arg(&control).status();
    assert!(made.expect("mkfifo runs").success());
    // Reads nothing until told to on `control`, then echoes each request's id.
    let script = format!(
        r#"exec 4<'{}'
read -r go <&4
while IFS= read -r line; do
  id=${{line#*\"id\":\"}}; id=${{id%%\"*}}
  printf '{{"answer":"%s"}}\n' "$id"
done"#,
        control.display()
    );
    let opener =
        tokio::task::spawn_blocking(move || std::fs::OpenOptions::new().write(true).open(control));
    let source = Arc::new(spawn(&script));
    let mut control = opener.await.expect("opener").expect("open control");

    // 4 MiB cannot fit in the pipe while nobody reads: the write is stuck part-way.
    let big = "x".repeat(4 << 20);
    let mut first = tokio::spawn({
        let source = Arc::clone(&source);
        async move { source.answer(&query("q-1", &big)).await }
    });
    let stuck = tokio::time::timeout(Duration::from_millis(200), &mut first).await;
    assert!(
        stuck.is_err(),
        "the 4 MiB request cannot have been written yet"
    );
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());

    use std::io::Write;
    control.write_all(b"go\n").expect("let the coprocess read");
    let second = source
        .answer(&query("q-2", "p"))
        .await
        .expect("the coprocess still works");
    assert_eq!(second.text, "q-2");
}
