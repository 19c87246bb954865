//! The session's vocabulary: queries, answers, and the ordered event stream.
//!
//! Everything above the engine (headless `run`, the TUI, transcripts) consumes
//! [`Stamped`] events and nothing else, so these types are the engine's public face.
//! They are plain data (serde), with no behaviour beyond small helpers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A query id, unique within a session (`q-1`, `q-2`, …; fork children share the counter).
pub type QueryId = String;

/// Where in the Lua source a call was made: the strategy's line, not the prelude's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub file: String,
    pub line: u32,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Position of a query inside one `alc.llm_batch` pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPos {
    pub index: usize,
    pub size: usize,
}

/// One question the strategy is waiting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub id: QueryId,
    pub prompt: String,
    pub system: Option<String>,
    pub max_tokens: u32,
    pub grounded: bool,
    pub underspecified: bool,
    pub site: Option<Site>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub batch: Option<BatchPos>,
    /// Child package name when the query comes from an `alc.fork` child.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fork: Option<String>,
    /// The output limit actually asked of a model when the token budget had less
    /// left than `max_tokens` (which stays what the strategy asked: replay matches
    /// on it). See [`Query::output_limit`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_tokens_capped: Option<u32>,
}

impl Query {
    /// The output limit to send a model: `max_tokens`, or less when the token budget
    /// capped it (`max_tokens_capped`).
    pub fn output_limit(&self) -> u32 {
        self.max_tokens_capped
            .map_or(self.max_tokens, |cap| cap.min(self.max_tokens))
    }
}

/// Who produced an answer. Serialised names are part of the transcript format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnswerOrigin {
    #[serde(rename = "human")]
    Human,
    #[serde(rename = "provider")]
    Provider,
    #[serde(rename = "provider+edited")]
    ProviderEdited,
    #[serde(rename = "script")]
    Script,
    #[serde(rename = "command")]
    Command,
    #[serde(rename = "replay")]
    Replay,
}

impl AnswerOrigin {
    pub fn label(self) -> &'static str {
        match self {
            AnswerOrigin::Human => "human",
            AnswerOrigin::Provider => "provider",
            AnswerOrigin::ProviderEdited => "provider+edited",
            AnswerOrigin::Script => "script",
            AnswerOrigin::Command => "command",
            AnswerOrigin::Replay => "replay",
        }
    }
}

/// Token counts reported by a provider for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The answer to one query, as any answer source produces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    pub source: AnswerOrigin,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub latency_ms: u64,
    /// The configured provider (`[providers.NAME]`) that produced it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Why the model stopped, normalised: `stop`, `length` (cut off at the output
    /// limit), `content_filter`, `tool_calls`, or the API's own word when it is none
    /// of those. `None` when the source does not say (a person, a command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<String>,
    /// The model the server says answered (llama-server: the model file's path;
    /// OpenRouter: the routed model), beside the configured `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
}

/// `finish` of an answer cut off at its output limit.
pub const FINISH_LENGTH: &str = "length";
/// The mark of a cut-off answer wherever one is shown (Pending pane, trace, `run -v`).
pub const CUT_OFF_MARK: &str = "✂";

impl Answer {
    /// An answer with no model, no usage and no measured latency.
    pub fn new(text: impl Into<String>, source: AnswerOrigin) -> Self {
        Answer {
            text: text.into(),
            source,
            model: None,
            usage: None,
            latency_ms: 0,
            provider: None,
            finish: None,
            served_model: None,
        }
    }

    /// The model stopped at its output limit: the text is cut off.
    pub fn is_cut_off(&self) -> bool {
        self.finish.as_deref() == Some(FINISH_LENGTH)
    }

    /// The one sentence saying so, for every place that shows it.
    pub fn cut_off_note(&self) -> Option<String> {
        self.is_cut_off().then(|| {
            format!(
                "{CUT_OFF_MARK} cut off: the model stopped at the output limit (finish = length)"
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    /// ALC_API: unknown levels count as info.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "error" => LogLevel::Error,
            "warn" | "warning" => LogLevel::Warn,
            "debug" => LogLevel::Debug,
            _ => LogLevel::Info,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// A strategy error: the message, where it happened, and the Lua traceback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptError {
    pub message: String,
    pub site: Option<Site>,
    pub traceback: Option<String>,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Counters of one session. Tokens are estimates until a source reports usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Answered queries (a batch of N counts N).
    pub llm_calls: u64,
    pub failed_calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// How many answered calls had their tokens estimated rather than reported.
    pub estimated_calls: u64,
    /// Wall time since start.
    pub wall_ms: u64,
    /// Time queries were ready for a person (shown for typing, or a draft complete for
    /// review) until sent, as one union; not charged to `max_elapsed_ms`.
    pub human_ms: u64,
    /// What the time budget is charged: wall time less the person's time.
    pub elapsed_ms: u64,
    /// Custom metrics from `alc.stats.record`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub stats: serde_json::Map<String, Value>,
}

impl Metrics {
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// The session's tokens so far, as the usage prices are charged on.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
        }
    }

    /// `"estimated"` while any call's tokens were estimated, else `"provided"`.
    pub fn token_basis(&self) -> &'static str {
        if self.estimated_calls > 0 || self.llm_calls == 0 {
            "estimated"
        } else {
            "provided"
        }
    }
}

/// Largest namespace (compact JSON bytes) a transcript records whole; above it only
/// its sha256 is recorded and a replay runs on the current state.
pub const STATE_SNAPSHOT_MAX_BYTES: usize = 1024 * 1024;

/// The `alc.state` namespace (`ctx._ns`) as the session found it at start: the
/// `state` field of the transcript's `session` line. Exactly one of `values`
/// (the key-values), `sha256` + `bytes` (too large to record) or `error` (the state
/// file could not be read) is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateSnapshot {
    pub ns: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Map<String, Value>>,
    /// sha256 of the namespace's compact JSON text (keys sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A transcript another one refers to: where it was and what it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptRef {
    pub path: String,
    /// sha256 of the transcript file's bytes.
    pub sha256: String,
}

/// Where a run comes from: the transcript it replays (`replay_of`), or the one it
/// branched from (`parent`) at query `branch_at` (a what-if).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<TranscriptRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TranscriptRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_at: Option<QueryId>,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    pub result: Option<Value>,
    pub error: Option<ScriptError>,
    pub metrics: Metrics,
}

impl Outcome {
    /// The result as JSON: pretty (indented, as the screens show it) or on one line
    /// (`run --compact`); `None` when the run returned nothing (it failed or was
    /// cancelled).
    pub fn result_json(&self, pretty: bool) -> Option<String> {
        let result = self.result.as_ref()?;
        let text = if pretty {
            serde_json::to_string_pretty(result)
        } else {
            serde_json::to_string(result)
        };
        Some(text.unwrap_or_else(|_| "null".into()))
    }

    /// A finished run's result as the screens show it (the Result overlay, the trace's
    /// last entry): the result's JSON; for an error its message, where it happened
    /// (`at FILE:LINE`) and the Lua traceback; else the status (a cancel with nothing
    /// to say).
    pub fn result_text(&self) -> String {
        if let Some(err) = &self.error {
            let mut text = err.message.clone();
            if let Some(site) = &err.site {
                text.push_str(&format!("\nat {site}"));
            }
            if let Some(traceback) = &err.traceback {
                text.push_str(&format!("\n\n{traceback}"));
            }
            return text;
        }
        self.result_json(true)
            .unwrap_or_else(|| self.status.label().to_string())
    }
}

/// What happens in a session, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    Started {
        script: String,
        script_sha256: String,
        ctx: Value,
        seed: u64,
        /// The package name when the session runs a package (`run cot`), so a replay
        /// runs it the same way; `None` for a script file.
        package: Option<String>,
        /// The session's `alc.state` namespace at start (for replay). Boxed, as is
        /// `lineage`: both are large and read only by the transcript, and every event
        /// (each `Stamped` the screen receives) is as big as the largest one.
        state: Box<StateSnapshot>,
        /// The transcript this run replays or branches from, if any.
        lineage: Box<Lineage>,
    },
    /// The strategy (or one fork child) waits on these queries; `pause` pairs it with
    /// the matching `Resumed`.
    Paused {
        pause: u64,
        queries: Vec<Query>,
    },
    Answered {
        id: QueryId,
        answer: Answer,
    },
    QueryFailed {
        id: QueryId,
        error: String,
    },
    Resumed {
        pause: u64,
    },
    Log {
        level: LogLevel,
        msg: String,
    },
    Progress {
        step: i64,
        total: i64,
        msg: Option<String>,
    },
    Stat {
        key: String,
        value: Value,
    },
    State {
        ns: String,
        key: String,
        op: String,
    },
    Finished(Outcome),
    /// The debugger: a VM stopped or went on, a breakpoint was bound (not recorded in
    /// transcripts: stepping is how a person looked, not what the strategy did).
    Debug(super::debugger::DebugEvent),
}

impl SessionEvent {
    /// Short kind name, as used by transcripts and the trace filter.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionEvent::Started { .. } => "session",
            SessionEvent::Paused { .. } => "query",
            SessionEvent::Answered { .. } => "answer",
            SessionEvent::QueryFailed { .. } => "query_failed",
            SessionEvent::Resumed { .. } => "resumed",
            SessionEvent::Log { .. } => "log",
            SessionEvent::Progress { .. } => "progress",
            SessionEvent::Stat { .. } => "stat",
            SessionEvent::State { .. } => "state",
            SessionEvent::Finished(_) => "end",
            SessionEvent::Debug(_) => "debug",
        }
    }
}

/// An event with its sequence number, time since the session started, and the
/// session's [`Metrics`] as the engine counts them at that moment: the one source of
/// what the budget has used (screens show these figures, never their own).
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    pub seq: u64,
    pub t_ms: u64,
    pub event: SessionEvent,
    pub metrics: Metrics,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status, result: Option<Value>, error: Option<ScriptError>) -> Outcome {
        Outcome {
            status,
            result,
            error,
            metrics: Metrics::default(),
        }
    }

    #[test]
    fn result_text_of_each_ending() {
        let done = outcome(
            Status::Completed,
            Some(serde_json::json!({"answer": 42})),
            None,
        );
        assert_eq!(done.result_text(), "{\n  \"answer\": 42\n}");
        assert_eq!(done.result_json(false).as_deref(), Some("{\"answer\":42}"));
        let null = outcome(Status::Completed, Some(Value::Null), None);
        assert_eq!(null.result_text(), "null");

        let failed = outcome(
            Status::Failed,
            None,
            Some(ScriptError {
                message: "demo/cot.lua:10: boom".into(),
                site: Some(Site {
                    file: "demo/cot.lua".into(),
                    line: 10,
                }),
                traceback: Some("stack traceback:\n\tdemo/cot.lua:10: in main chunk".into()),
            }),
        );
        assert_eq!(
            failed.result_text(),
            "demo/cot.lua:10: boom\nat demo/cot.lua:10\n\nstack traceback:\n\tdemo/cot.lua:10: in main chunk"
        );
        assert_eq!(failed.result_json(true), None);

        let cancelled = outcome(Status::Cancelled, None, None);
        assert_eq!(cancelled.result_text(), "cancelled");
    }
}
