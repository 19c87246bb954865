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
    answer_text_from_json, elapsed_ms, text_preview, AnswerFuture, AnswerSource, RestartFuture,
    SourceError,
};
use crate::engine::error::json_type_name;
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
    /// The queue as the file gave it, for `restart`.
    all: VecDeque<Reply>,
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
            queue: Mutex::new(queue.clone()),
            all: queue,
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

    /// The queue starts again from the file's first entry.
    fn restart(&self) -> RestartFuture<'_> {
        *self.lock_queue() = self.all.clone();
        Box::pin(std::future::ready(()))
    }
}

/// Parses one non-comment line into a rule or a queue entry, or says what is wrong.
fn parse_line(line: &str) -> Result<Entry, String> {
    let value: Value =
        serde_json::from_str(line).map_err(|err| format!("not valid JSON: {err}"))?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "expected a JSON object like {{\"answer\": \"…\"}}, found {}",
            json_type_name(&value)
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
                json_type_name(other)
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
            json_type_name(other)
        )),
    }
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
