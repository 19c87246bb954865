//! The TUI's view of a running session, and how the runtime starts one.
//!
//! The engine's `Session` implements [`SessionPort`]; the CLI wraps session creation in
//! a [`Starter`]. Keeping this seam a trait lets the model and the loop be tested with
//! a fake session. No I/O here: only types.

use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::{Answer, Stamped};

/// What the TUI needs from a running session; the engine's Session will implement it.
pub trait SessionPort: Send + Sync {
    fn answer(&self, id: &str, answer: Answer) -> Result<(), String>;
    fn fail(&self, id: &str, error: &str) -> Result<(), String>;
    fn cancel(&self);
    /// Ends the session without waiting for it (see the engine's `Session::abandon`):
    /// records `end` as cancelled unless it already finished. For quitting, or
    /// replacing a session, while its strategy is stuck where cancel cannot reach.
    fn abandon(&self);
    /// Where this session records its transcript, if it does (shown at start and
    /// printed on exit).
    fn transcript(&self) -> Option<PathBuf> {
        None
    }
}

/// What to run: a script path or package name, the `ctx` table, and where the session
/// writes its transcript (the CLI picks the default path under the data dir).
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub script: String,
    pub ctx: serde_json::Value,
    pub transcript: Option<PathBuf>,
}

/// A started session: the command handle and its ordered event stream.
pub type StartedSession = (
    Arc<dyn SessionPort>,
    tokio::sync::mpsc::UnboundedReceiver<Stamped>,
);

/// Starts sessions for the runtime; provided by the CLI.
pub type Starter = Box<dyn Fn(&StartRequest) -> Result<StartedSession, String> + Send + Sync>;
