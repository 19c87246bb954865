//! Errors of the engine's own API (starting sessions, sending commands).
//!
//! Strategy failures are not errors here: they arrive as a `Finished` event with a
//! [`ScriptError`](super::ScriptError), because a failed strategy is a normal outcome.

use std::path::PathBuf;

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
    #[error("transcript {path}: {source}")]
    Transcript {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start the Lua VM: {0}")]
    Vm(String),
    #[error("no pending query '{0}' (already answered, withdrawn, or never asked)")]
    UnknownQuery(String),
    #[error("the session has finished")]
    Finished,
}
