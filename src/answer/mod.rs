//! Answer sources: who answers a pending query when it is not the person in the TUI.
//!
//! Every source — the answers file, a command per query, a long-lived coprocess, a
//! person at a plain terminal, and (later) model providers — implements one trait,
//! [`AnswerSource`]. A driver (headless `run`, or the TUI runtime) hands each query to
//! the source and feeds the result back into the session with `Session::answer` or
//! `Session::fail`. Sources never touch a session themselves: they only turn a query
//! into an answer or an error, which keeps them testable in isolation.
//!
//! This room may use the engine's data types and tokio I/O; it must not touch the
//! terminal UI.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::engine::{Answer, Query};

pub mod command;
pub mod coprocess;
pub mod replay;
pub mod script;
pub mod stdin;

pub use command::CommandSource;
pub use coprocess::{CoprocessError, CoprocessSource};
pub use replay::ReplaySource;
pub use script::{ScriptFileError, ScriptSource};
pub use stdin::StdinSource;

/// A boxed future as returned by [`AnswerSource::answer`].
pub type AnswerFuture<'a> = Pin<Box<dyn Future<Output = Result<Answer, SourceError>> + Send + 'a>>;

/// A boxed future as returned by [`AnswerSource::restart`].
pub type RestartFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Why a source could not answer. The message becomes the Lua error of the call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The source answered, but with a failure (a scripted `error`, a non-zero exit…).
    #[error("{0}")]
    Failed(String),
    /// The source has nothing for this query (answers file ran out).
    #[error("{0}")]
    Exhausted(String),
    /// The source did not answer in time.
    #[error("{0}")]
    Timeout(String),
}

/// Something that answers queries.
///
/// `answer` is called in the order queries are handed over (batch index order), and a
/// source that consumes a sequence (the answers file) takes its item **before** it
/// returns the future, so concurrent awaiting cannot reorder answers.
pub trait AnswerSource: Send + Sync {
    /// A short name for messages and the status bar (`answers file`, `command`, …).
    fn name(&self) -> &str;

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a>;

    /// Starts over for a new run (the TUI's re-run), so a run answers the same way
    /// every time: an answers file from its first entry, a coprocess as a fresh
    /// process. Called with no request in flight. Sources that keep nothing between
    /// queries (a command per query, providers) have nothing to do.
    fn restart(&self) -> RestartFuture<'_> {
        Box::pin(std::future::ready(()))
    }

    /// Like `answer`, but reports text as it arrives (`on_text` receives each new piece,
    /// in order). Sources that cannot stream answer whole; providers override this.
    fn answer_streaming<'a>(&'a self, query: &Query, on_text: TextSink) -> AnswerFuture<'a> {
        let _ = on_text;
        self.answer(query)
    }

    /// Whether a person answers what is handed to this source (a plain terminal): then
    /// the driver tells the session the query is ready for the person when it hands it
    /// over, and the wait is the person's time, not the strategy's.
    fn answered_by_person(&self) -> bool {
        false
    }

    /// The session already has this query's answer from this source, given on the VM
    /// thread (`engine::instant`): a driver must not ask for it again. Asked once per
    /// query; true only for a source installed as the session's instant answers.
    fn answered_inline(&self, _id: &str) -> bool {
        false
    }
}

/// Receives streamed answer text, piece by piece.
pub type TextSink = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// The query as one line of JSON (with its newline), as commands and coprocesses read it.
pub(crate) fn query_json_line(query: &Query) -> Result<String, String> {
    serde_json::to_string(query)
        .map(|json| json + "\n")
        .map_err(|err| format!("could not encode {} as JSON: {err}", query.id))
}

/// A one-line description of a query for headers and messages:
/// `q-3 · demo/cot.lua:13 · max 200 tokens · batch 2 of 5 · fork child_pkg`.
///
/// `BatchPos::index` is 0-based, so it is shown plus one ("2 of 5" is index 1).
pub fn describe_query(query: &Query) -> String {
    let mut parts = vec![query.id.clone()];
    if let Some(site) = &query.site {
        parts.push(site.to_string());
    }
    parts.push(format!("max {} tokens", query.max_tokens));
    if let Some(batch) = query.batch {
        parts.push(format!("batch {} of {}", batch.index + 1, batch.size));
    }
    if let Some(fork) = &query.fork {
        parts.push(format!("fork {fork}"));
    }
    parts.join(" · ")
}

/// The first `max_chars` characters of `text`, with `…` appended when it was cut.
/// Counts characters, not bytes, so multi-byte text is never split mid-character.
pub fn text_preview(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The answer text for a JSON value given as an answer: a string is used as is, any
/// other value as its compact JSON encoding (so strategies using `alc.llm_json` can
/// be answered with objects directly).
pub(crate) fn answer_text_from_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Milliseconds since `start`, saturating (latencies never overflow `u64` in practice).
pub(crate) fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A duration as people write it in messages: `30s`, `1.5s`, `250ms`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

/// The last bytes a child process wrote to a stream (its stderr), bounded so a chatty
/// process cannot grow memory without limit. Only the tail matters for error messages.
#[derive(Debug, Default)]
pub(crate) struct OutputTail {
    bytes: std::collections::VecDeque<u8>,
}

impl OutputTail {
    /// Bytes kept: comfortably more than the characters shown, so multi-byte text
    /// still yields about [`OutputTail::SHOWN_CHARS`] characters.
    const KEPT_BYTES: usize = 8 * 1024;
    /// Characters of the tail quoted in messages.
    pub(crate) const SHOWN_CHARS: usize = 2000;

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        let chunk = if chunk.len() > Self::KEPT_BYTES {
            &chunk[chunk.len() - Self::KEPT_BYTES..]
        } else {
            chunk
        };
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(Self::KEPT_BYTES);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    /// The last [`OutputTail::SHOWN_CHARS`] characters, trimmed; lossy for non-UTF-8.
    pub(crate) fn text(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut joined = Vec::with_capacity(self.bytes.len());
        joined.extend_from_slice(front);
        joined.extend_from_slice(back);
        tail_chars(String::from_utf8_lossy(&joined).trim(), Self::SHOWN_CHARS)
    }
}

/// The last `max_chars` characters of `text`, with a leading `…` when it was cut.
pub(crate) fn tail_chars(text: &str, max_chars: usize) -> String {
    let total = text.chars().count();
    if total <= max_chars {
        return text.to_string();
    }
    let skip = total - max_chars;
    match text.char_indices().nth(skip) {
        Some((cut, _)) => format!("…{}", &text[cut..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BatchPos, Site};

    fn query() -> Query {
        Query {
            max_tokens_capped: None,
            id: "q-3".into(),
            prompt: "p".into(),
            system: None,
            max_tokens: 200,
            grounded: false,
            underspecified: false,
            site: Some(Site {
                file: "demo/cot.lua".into(),
                line: 13,
            }),
            batch: None,
            fork: None,
        }
    }

    #[test]
    fn describes_plain_query() {
        assert_eq!(
            describe_query(&query()),
            "q-3 · demo/cot.lua:13 · max 200 tokens"
        );
    }

    #[test]
    fn describes_batch_and_fork_one_based() {
        let mut q = query();
        q.site = None;
        q.batch = Some(BatchPos { index: 1, size: 5 });
        q.fork = Some("child".into());
        assert_eq!(
            describe_query(&q),
            "q-3 · max 200 tokens · batch 2 of 5 · fork child"
        );
    }

    #[test]
    fn preview_counts_characters() {
        assert_eq!(text_preview("héllo", 3), "hél…");
        assert_eq!(text_preview("héllo", 5), "héllo");
        assert_eq!(text_preview("", 5), "");
    }

    #[test]
    fn json_answers_encode_non_strings_compactly() {
        let value = serde_json::json!({"a": [1, 2], "b": "x"});
        assert_eq!(answer_text_from_json(&value), r#"{"a":[1,2],"b":"x"}"#);
        assert_eq!(answer_text_from_json(&serde_json::json!("plain")), "plain");
        assert_eq!(answer_text_from_json(&serde_json::json!(42)), "42");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn output_tail_keeps_only_the_end() {
        let mut tail = OutputTail::default();
        for i in 0..5000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        let text = tail.text();
        assert!(text.ends_with("line 4999"), "{text}");
        assert!(text.starts_with('…'));
        assert_eq!(text.chars().count(), OutputTail::SHOWN_CHARS + 1);
        let mut big = OutputTail::default();
        big.push(&vec![b'x'; 100_000]);
        assert_eq!(big.bytes.len(), OutputTail::KEPT_BYTES);
    }

    #[test]
    fn output_tail_is_lossy_and_trimmed() {
        let mut tail = OutputTail::default();
        tail.push(b"  bad \xff byte\n\n");
        assert_eq!(tail.text(), "bad \u{fffd} byte");
    }
}
