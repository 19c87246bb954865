//! Unit tests of the coprocess source: reply parsing, the reply size cap, spawning.

use super::*;
use serde_json::json;

fn fields(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        _ => panic!("test value must be an object"),
    }
}

#[test]
fn reply_with_model_and_usage() {
    let answer = parse_reply(
        &fields(json!({"answer": "hi", "model": "m1", "usage": {"prompt_tokens": 3, "completion_tokens": 4}, "id": "q-1"})),
        "q-1",
    )
    .expect("valid");
    assert_eq!(answer.text, "hi");
    assert_eq!(answer.source, AnswerOrigin::Command);
    assert_eq!(answer.model.as_deref(), Some("m1"));
    assert_eq!(
        answer.usage,
        Some(Usage {
            prompt_tokens: 3,
            completion_tokens: 4
        })
    );
}

#[test]
fn reply_errors_and_shape_problems() {
    assert_eq!(
        parse_reply(&fields(json!({"error": "rate limited"})), "q-2"),
        Err(SourceError::Failed("rate limited".into()))
    );
    assert_eq!(
        parse_reply(&fields(json!({"ok": true})), "q-2"),
        Err(SourceError::Failed(
            "answer coprocess reply to q-2: has neither \"answer\" nor \"error\"".into()
        ))
    );
    assert!(parse_reply(&fields(json!({"answer": "a", "error": "b"})), "q-2").is_err());
    assert!(parse_reply(&fields(json!({"answer": "a", "model": 5})), "q-2").is_err());
    let err = parse_reply(
        &fields(json!({"answer": "a", "usage": {"prompt_tokens": 1}})),
        "q-2",
    )
    .expect_err("incomplete usage");
    assert!(err.to_string().contains("\"usage\" must be"), "{err}");
    let object = parse_reply(&fields(json!({"answer": {"k": [1]}})), "q-2").expect("object");
    assert_eq!(object.text, r#"{"k":[1]}"#);
}

fn query(id: &str) -> Query {
    Query {
        max_tokens_capped: None,
        id: id.into(),
        prompt: "p".into(),
        system: None,
        max_tokens: 8,
        grounded: false,
        underspecified: false,
        site: None,
        batch: None,
        fork: None,
    }
}

#[tokio::test]
async fn reply_over_the_limit_breaks_the_coprocess() {
    // A reply line that never ends: only the limit stops the read.
    let endless = "read -r q; printf '{\"answer\": \"'; exec yes x | tr -d '\\n'";
    let source = CoprocessSource::spawn(endless, Duration::from_secs(20))
        .expect("spawns")
        .with_max_answer_bytes(1024 * 1024);
    let err = source.answer(&query("q-1")).await.expect_err("too large");
    assert_eq!(
        err,
        SourceError::Failed(
            "answer coprocess reply to q-1 exceeded the maximum answer size of 1 MiB \
             (raise it with --max-answer-mb); it has been stopped"
                .into()
        )
    );
    let later = source.answer(&query("q-2")).await.expect_err("broken");
    assert!(later.to_string().contains("not usable any more"), "{later}");
    // A reply within the limit is fine.
    let small = CoprocessSource::spawn(
        "while read -r q; do echo '{\"answer\": \"ok\"}'; done",
        Duration::from_secs(20),
    )
    .expect("spawns")
    .with_max_answer_bytes(20);
    assert_eq!(
        small.answer(&query("q-3")).await.expect("answers").text,
        "ok"
    );
}

#[test]
fn spawn_outside_a_runtime_is_an_error_not_a_panic() {
    let err = CoprocessSource::spawn("cat", Duration::from_secs(1)).expect_err("no runtime");
    assert!(matches!(err, CoprocessError::NoRuntime));
}
