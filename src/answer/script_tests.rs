//! Unit tests of the answers-file source: queue and rules, errors, parsing, reading files.

use super::*;

fn query(id: &str, prompt: &str, system: Option<&str>) -> Query {
    Query {
        max_tokens_capped: None,
        id: id.into(),
        prompt: prompt.into(),
        system: system.map(str::to_string),
        max_tokens: 100,
        grounded: false,
        underspecified: false,
        site: None,
        batch: None,
        fork: None,
    }
}

async fn ask(source: &ScriptSource, id: &str, prompt: &str) -> Result<Answer, SourceError> {
    source.answer(&query(id, prompt, None)).await
}

fn line_error(text: &str) -> (usize, String) {
    match ScriptSource::parse(text, "t.jsonl") {
        Err(ScriptFileError::Line { line, message, .. }) => (line, message),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("parse should fail for {text:?}"),
    }
}

#[tokio::test]
async fn queue_answers_in_order_then_runs_out() {
    let source = ScriptSource::parse(
        "{\"answer\": \"one\"}\n\n{\"answer\": \"two\"}\n",
        "demo/cot.answers.jsonl",
    )
    .expect("valid file");
    assert_eq!(source.remaining(), 2);
    let first = ask(&source, "q-1", "a").await.expect("first");
    assert_eq!(first.text, "one");
    assert_eq!(first.source, AnswerOrigin::Script);
    assert_eq!(first.model, None);
    assert_eq!(ask(&source, "q-2", "b").await.expect("second").text, "two");
    assert_eq!(source.remaining(), 0);
    let long_prompt = "x".repeat(100);
    let err = ask(&source, "q-7", &long_prompt)
        .await
        .expect_err("ran out");
    let expected = format!(
        "answers file demo/cot.answers.jsonl ran out: no answer for q-7 (prompt starts: \"{}…\")",
        "x".repeat(60)
    );
    assert_eq!(err, SourceError::Exhausted(expected));
}

#[tokio::test]
async fn queue_is_consumed_when_answer_is_called_not_when_awaited() {
    let source = ScriptSource::parse("{\"answer\": \"first\"}\n{\"answer\": \"second\"}", "t")
        .expect("valid");
    let q1 = query("q-1", "a", None);
    let q2 = query("q-2", "b", None);
    let fut1 = source.answer(&q1);
    let fut2 = source.answer(&q2);
    assert_eq!(source.remaining(), 0);
    // Awaiting in reverse order must not swap the answers.
    assert_eq!(fut2.await.expect("q-2").text, "second");
    assert_eq!(fut1.await.expect("q-1").text, "first");
}

#[tokio::test]
async fn non_string_answers_are_compact_json() {
    let source = ScriptSource::parse(
        "{\"answer\": {\"score\": 7, \"tags\": [\"a\", \"b\"]}}\n{\"answer\": 3.5}\n{\"answer\": null}",
        "t",
    )
    .expect("valid");
    assert_eq!(
        ask(&source, "q-1", "p").await.expect("object").text,
        r#"{"score":7,"tags":["a","b"]}"#
    );
    assert_eq!(ask(&source, "q-2", "p").await.expect("number").text, "3.5");
    assert_eq!(ask(&source, "q-3", "p").await.expect("null").text, "null");
}

#[tokio::test]
async fn rules_come_first_in_file_order_and_are_not_consumed() {
    let text = r#"
        // rules
        {"match": "^Rate", "answer": "7"}
        {"match": "rate", "answer": "never reached for Rate prompts"}
        # queue
        {"answer": "queued"}
    "#;
    let source = ScriptSource::parse(text, "t").expect("valid");
    assert_eq!(source.rule_count(), 2);
    assert_eq!(source.remaining(), 1);
    for id in ["q-1", "q-2", "q-3"] {
        let answer = ask(&source, id, "Rate this essay").await.expect("rule");
        assert_eq!(answer.text, "7");
    }
    assert_eq!(
        ask(&source, "q-4", "please rate it")
            .await
            .expect("2nd")
            .text,
        "never reached for Rate prompts"
    );
    assert_eq!(source.remaining(), 1);
    assert_eq!(
        ask(&source, "q-5", "Other").await.expect("q").text,
        "queued"
    );
}

#[tokio::test]
async fn rule_regex_searches_anywhere_and_across_lines() {
    let source = ScriptSource::parse(r#"{"match": "(?s)step \\d+.*final", "answer": "ok"}"#, "t")
        .expect("valid");
    let answer = ask(&source, "q-1", "intro\nstep 12\nthe final word").await;
    assert_eq!(answer.expect("matches").text, "ok");
    assert!(matches!(
        ask(&source, "q-2", "no steps here").await,
        Err(SourceError::Exhausted(_))
    ));
}

#[tokio::test]
async fn system_regex_must_match_too() {
    let text = r#"{"match": "", "system": "critic", "answer": "critique"}
{"match": "", "answer": "default"}"#;
    let source = ScriptSource::parse(text, "t").expect("valid");
    let with_critic = source.answer(&query("q-1", "x", Some("You are a critic.")));
    assert_eq!(with_critic.await.expect("critic").text, "critique");
    let other_system = source.answer(&query("q-2", "x", Some("You are a writer.")));
    assert_eq!(other_system.await.expect("writer").text, "default");
    let no_system = source.answer(&query("q-3", "x", None));
    assert_eq!(no_system.await.expect("none").text, "default");
}

#[tokio::test]
async fn errors_fail_the_query() {
    let text = r#"{"match": "explode", "error": "scripted failure"}
{"error": "queued failure"}
{"answer": "after"}"#;
    let source = ScriptSource::parse(text, "t").expect("valid");
    assert_eq!(
        ask(&source, "q-1", "please explode").await,
        Err(SourceError::Failed("scripted failure".into()))
    );
    assert_eq!(
        ask(&source, "q-2", "calm").await,
        Err(SourceError::Failed("queued failure".into()))
    );
    assert_eq!(ask(&source, "q-3", "calm").await.expect("ok").text, "after");
}

#[test]
fn comments_blank_lines_crlf_and_bom_are_fine() {
    let text = "\u{feff}# header\r\n\r\n  // indented comment\r\n{\"answer\": \"a\"}\r\n   \r\n";
    let source = ScriptSource::parse(text, "t").expect("valid");
    assert_eq!(source.remaining(), 1);
}

#[test]
fn malformed_lines_name_the_line_and_problem() {
    let (line, message) = line_error("{\"answer\": \"ok\"}\n\n{\"answer\": ");
    assert_eq!(line, 3);
    assert!(message.starts_with("not valid JSON"), "{message}");

    let (line, message) = line_error("// c\n{\"match\": \"x\"}");
    assert_eq!(line, 2);
    assert_eq!(message, "missing \"answer\" or \"error\"");

    let (_, message) = line_error(r#"{"match": "(unclosed", "answer": "a"}"#);
    assert!(message.starts_with("bad regex in \"match\""), "{message}");

    let (_, message) = line_error(r#"{"match": "a", "system": "[z-a]", "answer": "a"}"#);
    assert!(message.starts_with("bad regex in \"system\""), "{message}");

    let (_, message) = line_error(r#"{"match": 5, "answer": "a"}"#);
    assert_eq!(
        message,
        "\"match\" must be a string (a regex), found a number"
    );

    let (_, message) = line_error(r#"{"error": {"a": 1}}"#);
    assert_eq!(message, "\"error\" must be a string, found an object");

    let (_, message) = line_error(r#"{"answer": "a", "error": "b"}"#);
    assert!(message.contains("not both"), "{message}");

    let (_, message) = line_error(r#"{"anwser": "typo"}"#);
    assert!(message.starts_with("unknown field \"anwser\""), "{message}");

    let (_, message) = line_error(r#"["answer", "a"]"#);
    assert!(message.contains("found an array"), "{message}");

    let (_, message) = line_error(r#"{"system": "x", "answer": "a"}"#);
    assert!(message.contains("only allowed on rules"), "{message}");
}

#[test]
fn line_error_display_has_file_and_line() {
    let err = ScriptSource::parse("\n\n{", "demo/x.jsonl").expect_err("bad");
    assert!(
        err.to_string()
            .starts_with("demo/x.jsonl:3: not valid JSON"),
        "{err}"
    );
}

#[test]
fn from_path_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.answers.jsonl");
    std::fs::write(&path, "{\"answer\": \"hi\"}\n").expect("write");
    let source = ScriptSource::from_path(&path).expect("loads");
    assert_eq!(source.remaining(), 1);

    let missing = dir.path().join("missing.jsonl");
    let err = ScriptSource::from_path(&missing).expect_err("missing");
    assert!(matches!(err, ScriptFileError::Read { .. }));
    assert!(err.to_string().contains("missing.jsonl"), "{err}");
}

#[test]
fn source_name() {
    let source = ScriptSource::parse("", "t").expect("empty is valid");
    assert_eq!(source.name(), "answers file");
    assert_eq!(source.remaining(), 0);
}
