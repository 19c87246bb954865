//! The answers file: canned answers for headless runs, tests and live demos.
//!
//! The file is JSON Lines. Each non-blank line that is not a comment (`//` or `#`
//! first) is one object:
//!
//! - `{"answer": X}` — the next answer of the **queue**, used in file order.
//! - `{"match": "<regex>", "answer": X}` — a **rule**: whenever a query's prompt
//!   matches the regex (searched anywhere in the prompt), answer X. Rules are tried in
//!   file order before the queue and are never used up.
//! - `{"error": "msg"}` or `{"match": "…", "error": "msg"}` — the query fails with
//!   `msg`, so the strategy's `alc.llm` call raises (for testing error paths).
//! - Rules may add `"system": "<regex>"`, matched against the query's system prompt;
//!   both must match, and a query without a system prompt never matches such a rule.
//!
//! X is a string, or any other JSON value, which is answered as its compact JSON
//! encoding (so strategies using `alc.llm_json` can be answered with objects).
//!
//! This module only reads the file it is given; it touches nothing else.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use regex::Regex;
use serde_json::{Map, Value};

use super::{
    answer_text_from_json, elapsed_ms, text_preview, AnswerFuture, AnswerSource, SourceError,
};
use crate::engine::{Answer, AnswerOrigin, Query};
use crate::limits::{read_input_file, InputFileError, MAX_INPUT_FILE_BYTES};

/// Characters of the prompt quoted when the file runs out.
const PROMPT_PREVIEW_CHARS: usize = 60;

/// Why an answers file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScriptFileError {
    #[error("cannot read answers file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A malformed line; `line` is 1-based.
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// What an entry of the file does to a query.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Answer(String),
    Error(String),
}

/// A `match` line: answers every query whose prompt (and system prompt) match.
#[derive(Debug)]
struct Rule {
    prompt: Regex,
    system: Option<Regex>,
    reply: Reply,
}

impl Rule {
    fn matches(&self, query: &Query) -> bool {
        if !self.prompt.is_match(&query.prompt) {
            return false;
        }
        match (&self.system, &query.system) {
            (None, _) => true,
            (Some(pattern), Some(system)) => pattern.is_match(system),
            (Some(_), None) => false,
        }
    }
}

/// One parsed line of the file.
enum Entry {
    Rule(Rule),
    Queued(Reply),
}

/// Answers queries from an answers file (see the module docs for the format).
#[derive(Debug)]
pub struct ScriptSource {
    /// The path as given, for messages.
    path: String,
    rules: Vec<Rule>,
    /// Taken from the front, synchronously inside `answer`, so order is deterministic.
    queue: Mutex<VecDeque<Reply>>,
}

impl ScriptSource {
    /// Reads and parses the answers file at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ScriptFileError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = read_input_file(path, MAX_INPUT_FILE_BYTES, "answers files").map_err(|e| {
            ScriptFileError::Read {
                path: shown.clone(),
                source: match e {
                    InputFileError::Io(source) => source,
                    too_large => std::io::Error::new(std::io::ErrorKind::InvalidData, too_large),
                },
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            ScriptFileError::Line {
                path: shown.clone(),
                line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                message: "invalid UTF-8 (answers files are UTF-8 text)".into(),
            }
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses answers-file text; `path_for_messages` names the file in errors.
    pub fn parse(text: &str, path_for_messages: &str) -> Result<Self, ScriptFileError> {
        // A byte-order mark from some editors is not part of the first line's JSON.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rules = Vec::new();
        let mut queue = VecDeque::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with("//") || line.starts_with('#') {
                continue;
            }
            let entry = parse_line(line).map_err(|message| ScriptFileError::Line {
                path: path_for_messages.to_string(),
                line: index + 1,
                message,
            })?;
            match entry {
                Entry::Rule(rule) => rules.push(rule),
                Entry::Queued(reply) => queue.push_back(reply),
            }
        }
        Ok(ScriptSource {
            path: path_for_messages.to_string(),
            rules,
            queue: Mutex::new(queue),
        })
    }

    /// How many queued (non-rule) entries are still unused.
    pub fn remaining(&self) -> usize {
        self.lock_queue().len()
    }

    /// How many rules the file has (rules are never used up).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Reply>> {
        // A panic while holding this lock cannot leave the queue half-updated
        // (pop_front is atomic from our view), so a poisoned lock is still usable.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The reply for `query`: the first matching rule, else the next queued entry.
    fn reply_for(&self, query: &Query) -> Option<Reply> {
        if let Some(rule) = self.rules.iter().find(|rule| rule.matches(query)) {
            return Some(rule.reply.clone());
        }
        self.lock_queue().pop_front()
    }
}

impl AnswerSource for ScriptSource {
    fn name(&self) -> &str {
        "answers file"
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        // Everything happens here, before the future exists, so the queue is consumed
        // in the order `answer` is called however the futures are awaited.
        let start = Instant::now();
        let result = match self.reply_for(query) {
            Some(Reply::Answer(text)) => {
                let mut answer = Answer::new(text, AnswerOrigin::Script);
                answer.latency_ms = elapsed_ms(start);
                Ok(answer)
            }
            Some(Reply::Error(message)) => Err(SourceError::Failed(message)),
            None => Err(SourceError::Exhausted(format!(
                "answers file {} ran out: no answer for {} (prompt starts: {:?})",
                self.path,
                query.id,
                text_preview(&query.prompt, PROMPT_PREVIEW_CHARS)
            ))),
        };
        Box::pin(std::future::ready(result))
    }
}

/// Parses one non-comment line into a rule or a queue entry, or says what is wrong.
fn parse_line(line: &str) -> Result<Entry, String> {
    let value: Value =
        serde_json::from_str(line).map_err(|err| format!("not valid JSON: {err}"))?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "expected a JSON object like {{\"answer\": \"…\"}}, found {}",
            json_kind(&value)
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|key| !matches!(key.as_str(), "answer" | "error" | "match" | "system"))
    {
        return Err(format!(
            "unknown field {unknown:?} (allowed: \"answer\", \"error\", \"match\", \"system\")"
        ));
    }

    let reply = match (fields.get("answer"), fields.get("error")) {
        (Some(_), Some(_)) => {
            return Err("a line has either \"answer\" or \"error\", not both".to_string())
        }
        (Some(answer), None) => Reply::Answer(answer_text_from_json(answer)),
        (None, Some(Value::String(message))) => Reply::Error(message.clone()),
        (None, Some(other)) => {
            return Err(format!(
                "\"error\" must be a string, found {}",
                json_kind(other)
            ))
        }
        (None, None) => return Err("missing \"answer\" or \"error\"".to_string()),
    };

    let prompt = regex_field(&fields, "match")?;
    let system = regex_field(&fields, "system")?;
    match (prompt, system) {
        (Some(prompt), system) => Ok(Entry::Rule(Rule {
            prompt,
            system,
            reply,
        })),
        (None, Some(_)) => Err(
            "\"system\" is only allowed on rules (lines with \"match\"); \
             use \"match\": \"\" to match every prompt"
                .to_string(),
        ),
        (None, None) => Ok(Entry::Queued(reply)),
    }
}

/// The compiled regex in field `name`, if present.
fn regex_field(fields: &Map<String, Value>, name: &str) -> Result<Option<Regex>, String> {
    match fields.get(name) {
        None => Ok(None),
        Some(Value::String(pattern)) => Regex::new(pattern)
            .map(Some)
            .map_err(|err| format!("bad regex in {name:?}: {err}")),
        Some(other) => Err(format!(
            "{name:?} must be a string (a regex), found {}",
            json_kind(other)
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: &str, prompt: &str, system: Option<&str>) -> Query {
        Query {
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
        let source =
            ScriptSource::parse(r#"{"match": "(?s)step \\d+.*final", "answer": "ok"}"#, "t")
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
        let text =
            "\u{feff}# header\r\n\r\n  // indented comment\r\n{\"answer\": \"a\"}\r\n   \r\n";
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
}
