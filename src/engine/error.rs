//! Errors of the engine's own API (starting sessions, sending commands).
//!
//! Strategy failures are not errors here: they arrive as a `Finished` event with a
//! [`ScriptError`](super::ScriptError), because a failed strategy is a normal outcome.

use std::path::PathBuf;

use super::transcript::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("script not found: {0}")]
    ScriptNotFound(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("package '{name}' not found (searched: {searched})")]
    PackageNotFound { name: String, searched: String },
    #[error("invalid package name '{0}': use letters, digits and _ only")]
    InvalidPackageName(String),
    #[error("ctx must be a JSON object, got {0}")]
    CtxNotObject(&'static str),
    #[error("invalid budget: {0}")]
    Budget(String),
    /// The transcript could not be created when the session started.
    #[error(transparent)]
    Transcript(WriteError),
    /// The transcript could not record an answer or a query failure, so it was not
    /// acknowledged: the query is still pending and the strategy has not resumed.
    /// Retrying, `Session::redirect_transcript` or `Session::stop_recording` go on.
    #[error("{error}; {what} was not acknowledged")]
    TranscriptWrite {
        /// "the answer to q-3", "the failure of q-3".
        what: String,
        #[source]
        error: WriteError,
    },
    /// `Session::redirect_transcript` could not write the transcript to the new file;
    /// it is still recorded where it was.
    #[error("{error}; the transcript stays at {}", stays.display())]
    TranscriptRedirect {
        stays: PathBuf,
        #[source]
        error: WriteError,
    },
    #[error(
        "the session is not recording a transcript (none was asked for, or recording was stopped)"
    )]
    NotRecording,
    #[error("could not start the Lua VM: {0}")]
    Vm(String),
    #[error("no pending query '{0}' (already answered, withdrawn, or never asked)")]
    UnknownQuery(String),
    #[error("query '{0}' is already being answered (its answer is being recorded)")]
    AnswerInFlight(String),
    #[error("the session has finished")]
    Finished,
    /// A debugger command was refused (see [`DebugError`](super::DebugError)).
    #[error(transparent)]
    Debug(#[from] super::debugger::DebugError),
}

impl EngineError {
    /// The transcript failure behind a refused answer or failure: the query is still
    /// pending and can be sent again once the person chose how to go on.
    pub fn unrecorded(&self) -> Option<&WriteError> {
        match self {
            EngineError::TranscriptWrite { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// How an error names the type of a JSON value: "a number", "an object", "null".
pub fn json_type_name(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
