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

use crate::engine::{Answer, Query};

pub mod command;
pub mod coprocess;
pub mod script;
pub mod stdin;

/// A boxed future as returned by [`AnswerSource::answer`].
pub type AnswerFuture<'a> = Pin<Box<dyn Future<Output = Result<Answer, SourceError>> + Send + 'a>>;

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
}
