//! The headless driver behind `run`: consumes a session's events, hands each query to
//! an answer source, and returns the outcome. No screen; logs go to a writer (stderr).
//!
//! Queries of one pause are handed to the source in index order *before* any answer
//! is awaited, so a source that consumes a sequence (the answers file) answers a batch
//! deterministically even though the answers are then awaited concurrently.
//!
//! An answer the transcript cannot record is not acknowledged (the strategy stays
//! paused), and headless there is nobody to choose how to go on: the drive stops at
//! once with that error.
//!
//! Requests nobody waits for are dropped, not left to finish: the rest of a batch once
//! one of its items failed (the pause is withdrawn), and everything in flight when the
//! drive returns (finished, cancelled). Dropping a provider's future closes its HTTP
//! connection, so the server stops generating.

use std::io::Write;
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::answer::AnswerSource;
use crate::engine::{
    EngineError, EventStream, LogLevel, Outcome, Query, Session, SessionEvent, Status,
};

/// How chatty the driver is on its log writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Debug,
}

/// Runs a session to its end. Returns the outcome (a `Cancelled` one if the event
/// stream closed without a `Finished`, which only happens if the VM thread died), or
/// [`EngineError::TranscriptWrite`] as soon as an answer could not be recorded: that
/// query is still pending and the strategy has not resumed.
pub async fn drive(
    session: &Session,
    mut events: EventStream,
    source: Arc<dyn AnswerSource>,
    verbosity: Verbosity,
    log: &mut (dyn Write + Send),
) -> Result<Outcome, EngineError> {
    let (unrecorded_tx, mut unrecorded) = unbounded_channel();
    // Dropped (and so aborted, requests and all) when the drive returns.
    let mut pauses = tokio::task::JoinSet::new();
    loop {
        let stamped = tokio::select! {
            biased;
            Some(error) = unrecorded.recv() => return Err(error),
            stamped = events.recv() => match stamped {
                Some(stamped) => stamped,
                None => break,
            },
            Some(_) = pauses.join_next(), if !pauses.is_empty() => continue,
        };
        match stamped.event {
            SessionEvent::Paused { mut queries, .. } => {
                // Answered on the VM thread already (a replay): not ours to ask.
                queries.retain(|q| !source.answered_inline(&q.id));
                if queries.is_empty() {
                    continue;
                }
                pauses.spawn(answer_pause(
                    session.clone(),
                    source.clone(),
                    queries,
                    unrecorded_tx.clone(),
                ));
            }
            SessionEvent::Answered { id, answer } if verbosity == Verbosity::Debug => {
                if let Some(note) = answer.cut_off_note() {
                    let _ = writeln!(log, "[warn] {id} {note}");
                }
            }
            SessionEvent::Log { level, msg } => {
                let show = match verbosity {
                    Verbosity::Quiet => level == LogLevel::Error,
                    Verbosity::Normal => level != LogLevel::Debug,
                    Verbosity::Debug => true,
                };
                if show {
                    let _ = writeln!(log, "[{}] {msg}", level.label());
                }
            }
            SessionEvent::QueryFailed { id, error } if verbosity != Verbosity::Quiet => {
                let _ = writeln!(log, "[warn] {id} failed: {error}");
            }
            SessionEvent::Progress { step, total, msg } if verbosity == Verbosity::Debug => {
                let _ = writeln!(log, "[progress] {step}/{total} {}", msg.unwrap_or_default());
            }
            SessionEvent::Finished(outcome) => return Ok(outcome),
            _ => {}
        }
    }
    Ok(Outcome {
        status: Status::Cancelled,
        result: None,
        error: None,
        metrics: session.metrics(),
    })
}

/// Answers one pause: `answer()` is called for every query in index order first, then
/// the answers are awaited together and delivered as each arrives. A source a person
/// answers (a plain terminal) makes each query the person's from the hand-over on.
/// An answer (or failure) the transcript refused goes to `unrecorded`, and the pause
/// stops there.
pub async fn answer_pause(
    session: Session,
    source: Arc<dyn AnswerSource>,
    queries: Vec<Query>,
    unrecorded: UnboundedSender<EngineError>,
) {
    let by_person = source.answered_by_person();
    let mut pending: FuturesUnordered<_> = queries
        .iter()
        .map(|q| {
            if by_person {
                // Only fails when the query is already gone; then nothing is timed.
                let _ = session.person_ready(&q.id);
            }
            let id = q.id.clone();
            let fut = source.answer(q);
            async move { (id, fut.await) }
        })
        .collect();
    while let Some((id, result)) = pending.next().await {
        // One failed item fails the whole pause (the engine withdraws it): the
        // others' requests are dropped with `pending` below.
        let failed = result.is_err() && queries.len() > 1;
        // Recording syncs the disk: off the async workers. The session may have
        // finished or been cancelled meanwhile; then nobody needs this answer, and
        // that error goes to the void.
        let for_record = session.clone();
        let record = move || match result {
            Ok(answer) => for_record.answer(&id, answer),
            Err(e) => for_record.fail(&id, &e.to_string()),
        };
        // On a multi-thread runtime (`run`, `replay`) the worker itself blocks for the
        // sync, which saves a hop to the blocking pool per answer (replaying 10,000
        // answers is bound by such hops); elsewhere a blocking task keeps the one
        // worker free.
        let recorded = if session.transcript_path().is_none() {
            // Nothing to write: recording is a few locks and a channel send.
            Ok(record())
        } else {
            match tokio::runtime::Handle::current().runtime_flavor() {
                tokio::runtime::RuntimeFlavor::MultiThread => {
                    Ok(tokio::task::block_in_place(record))
                }
                _ => tokio::task::spawn_blocking(record).await,
            }
        };
        if let Ok(Err(error)) = recorded {
            if error.unrecorded().is_some() {
                let _ = unrecorded.send(error);
                return;
            }
        }
        if failed {
            return;
        }
    }
}
