//! The TUI's view of a running session, and how the runtime starts one.
//!
//! The engine's `Session` implements [`SessionPort`]; the CLI wraps session creation in
//! a [`Starter`]. Keeping this seam a trait lets the model and the loop be tested with
//! a fake session. No I/O here: only types.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{Answer, Metrics, Stamped};

/// Why a session did not take an answer (or failure) sent for a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The transcript at `path` could not record it, so it was not acknowledged: the
    /// query still waits and can be sent again. `message` is the whole error.
    Unrecorded { path: PathBuf, message: String },
    /// Anything else (already answered, the session finished…).
    Other(String),
}

/// What the TUI needs from a running session; the engine's Session implements it.
/// `answer`, `fail` and `redirect_transcript` may block on the disk: the runtime
/// calls them off the loop task.
pub trait SessionPort: Send + Sync {
    fn answer(&self, id: &str, answer: Answer) -> Result<(), Refusal>;
    fn fail(&self, id: &str, error: &str) -> Result<(), Refusal>;
    fn cancel(&self);
    /// The query is ready for the person from now on (their time, not the strategy's).
    fn person_ready(&self, id: &str) -> Result<(), String>;
    /// The query went back to a model: the person's time on it ends here. Sessions
    /// that keep no person clock (test doubles) need not care.
    fn person_away(&self, _id: &str) {}
    /// The session's figures as the engine counts them now.
    fn metrics(&self) -> Metrics;
    /// Ends the session without waiting for it (see the engine's `Session::abandon`):
    /// records `end` as cancelled unless it already finished. For quitting, or
    /// replacing a session, while its strategy is stuck where cancel cannot reach.
    fn abandon(&self);
    /// Where this session records its transcript, if it does (shown at start and
    /// printed on exit).
    fn transcript(&self) -> Option<PathBuf> {
        None
    }
    /// Writes the whole transcript so far to `path` and records there from now on.
    fn redirect_transcript(&self, path: &Path) -> Result<(), String>;
    /// Goes on without a transcript; the choice is an event of the session.
    fn stop_recording(&self, reason: &str);
    /// Runs a debugger request; may block until the stopped VM thread answers, so the
    /// runtime calls it off the loop task.
    fn debug(&self, request: super::stack::DebugRequest) -> super::stack::DebugReply {
        let _ = request;
        super::stack::DebugReply::Refused("this session has no debugger".into())
    }
}

/// What to run: a script path or package name, the `ctx` table, and where the session
/// writes its transcript (the CLI picks the default path under the data dir).
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub script: String,
    pub ctx: serde_json::Value,
    pub transcript: Option<PathBuf>,
    /// A replayed run: the recording, and how far it replays (see `app::replay`).
    pub replay: Option<super::replay::ReplayStart>,
    /// Breakpoints set before the first line runs.
    pub breakpoints: Vec<crate::engine::BreakpointSpec>,
}

/// A started session: the command handle and its ordered event stream.
pub type StartedSession = (
    Arc<dyn SessionPort>,
    tokio::sync::mpsc::UnboundedReceiver<Stamped>,
);

/// Starts sessions for the runtime; provided by the CLI.
pub type Starter = Box<dyn Fn(&StartRequest) -> Result<StartedSession, String> + Send + Sync>;
