//! The state one session's VMs share: the ordered event sink, the table of pending
//! queries, the counters, and the cancel flag.
//!
//! Why a shared core and not messages to the VM thread: while a strategy waits in
//! `alc.llm`, its VM thread is blocked, so commands (answer, fail, cancel) must be
//! handled on the caller's thread. They look the query up here, record it (transcript
//! first, flushed), and only then wake the waiting VM through its reply channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::budget::{Budget, Counters};
use super::error::EngineError;
use super::event::{Answer, Metrics, QueryId, SessionEvent, Stamped};
use super::transcript::TranscriptWriter;

/// What a waiting VM is woken with.
#[derive(Debug)]
pub(crate) enum Reply {
    Answer(usize, Answer),
    Fail(usize, String),
    Cancelled,
}

/// One query a VM is blocked on.
struct PendingQuery {
    pause: u64,
    index: usize,
    prompt_tokens: u64,
    reply: mpsc::Sender<Reply>,
}

struct Sink {
    seq: u64,
    tx: UnboundedSender<Stamped>,
    transcript: Option<TranscriptWriter>,
}

/// Settings every VM of the session needs to build its layers.
#[derive(Debug, Clone)]
pub(crate) struct VmSettings {
    pub alc_home: std::path::PathBuf,
    pub memory_limit: usize,
}

pub(crate) struct SessionCore {
    pub budget: Budget,
    pub settings: VmSettings,
    sink: Mutex<Sink>,
    pending: Mutex<HashMap<QueryId, PendingQuery>>,
    counters: Mutex<Counters>,
    cancelled: Arc<AtomicBool>,
    finished: AtomicBool,
    next_query: AtomicU64,
    next_pause: AtomicU64,
}

/// Poisoned locks only happen after a panic elsewhere; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SessionCore {
    pub fn new(
        budget: Budget,
        settings: VmSettings,
        tx: UnboundedSender<Stamped>,
        transcript: Option<TranscriptWriter>,
    ) -> Self {
        let start = Instant::now();
        SessionCore {
            budget,
            settings,
            sink: Mutex::new(Sink {
                seq: 0,
                tx,
                transcript,
            }),
            pending: Mutex::new(HashMap::new()),
            counters: Mutex::new(Counters::new(start)),
            cancelled: Arc::new(AtomicBool::new(false)),
            finished: AtomicBool::new(false),
            next_query: AtomicU64::new(1),
            next_pause: AtomicU64::new(1),
        }
    }

    /// Stamps, records and publishes one event. Under one lock, so the transcript and
    /// the stream see the same order.
    pub fn emit(&self, event: SessionEvent) {
        let mut sink = lock(&self.sink);
        sink.seq += 1;
        let metrics = self.metrics();
        let stamped = Stamped {
            seq: sink.seq,
            t_ms: metrics.wall_ms,
            event,
            metrics,
        };
        if let Some(w) = sink.transcript.as_mut() {
            if let Err(e) = w.write(&stamped) {
                // Keep going: the person's answer is still on screen, and the stream
                // tells them the transcript is incomplete.
                sink.transcript = None;
                let warn = Stamped {
                    seq: stamped.seq,
                    t_ms: stamped.t_ms,
                    event: SessionEvent::Log {
                        level: super::event::LogLevel::Error,
                        msg: format!("transcript write failed, no longer recording: {e}"),
                    },
                    metrics: stamped.metrics.clone(),
                };
                let _ = sink.tx.send(warn);
                sink.seq += 1;
            }
        }
        let _ = sink.tx.send(Stamped {
            seq: sink.seq,
            ..stamped
        });
    }

    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancelled.clone()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub fn next_query_id(&self) -> QueryId {
        format!("q-{}", self.next_query.fetch_add(1, Ordering::Relaxed))
    }

    pub fn next_pause_id(&self) -> u64 {
        self.next_pause.fetch_add(1, Ordering::Relaxed)
    }

    pub fn metrics(&self) -> Metrics {
        lock(&self.counters).snapshot()
    }

    pub fn counters(&self) -> MutexGuard<'_, Counters> {
        lock(&self.counters)
    }

    /// Registers queries a VM is about to wait on. Must happen before the `Paused`
    /// event goes out, so an instant answer always finds its query.
    pub fn register(
        &self,
        pause: u64,
        queries: &[(QueryId, u64)],
        reply: &mpsc::Sender<Reply>,
    ) -> Result<(), String> {
        let mut pending = lock(&self.pending);
        // Checked under the lock that `cancel` also takes, so a cancel cannot slip in
        // between the check and the registration and leave this VM waiting forever.
        if self.is_cancelled() {
            return Err("cancelled".into());
        }
        for (index, (id, prompt_tokens)) in queries.iter().enumerate() {
            pending.insert(
                id.clone(),
                PendingQuery {
                    pause,
                    index,
                    prompt_tokens: *prompt_tokens,
                    reply: reply.clone(),
                },
            );
        }
        Ok(())
    }

    /// Drops every query of a pause that is still pending (a batch that failed early).
    pub fn withdraw(&self, pause: u64) {
        let mut gone = Vec::new();
        lock(&self.pending).retain(|id, q| {
            let keep = q.pause != pause;
            if !keep {
                gone.push(id.clone());
            }
            keep
        });
        self.counters().release(&gone);
    }

    /// Marks a pending query as ready for a person: from now until it is answered,
    /// the time is the person's, not the strategy's (see `budget.rs`).
    pub fn person_ready(&self, id: &str) -> Result<(), EngineError> {
        if self.is_finished() {
            return Err(EngineError::Finished);
        }
        let pending = lock(&self.pending);
        if !pending.contains_key(id) {
            return Err(EngineError::UnknownQuery(id.to_string()));
        }
        // Under the pending lock, so an answer cannot settle the query in between.
        self.counters().person_ready(id, Instant::now());
        Ok(())
    }

    pub fn answer(&self, id: &str, answer: Answer) -> Result<(), EngineError> {
        let q = self.take_pending(id)?;
        self.counters().record_answer(id, q.prompt_tokens, &answer);
        self.emit(SessionEvent::Answered {
            id: id.to_string(),
            answer: answer.clone(),
        });
        let _ = q.reply.send(Reply::Answer(q.index, answer));
        Ok(())
    }

    pub fn fail(&self, id: &str, error: &str) -> Result<(), EngineError> {
        let q = self.take_pending(id)?;
        self.counters().record_failure(id);
        self.emit(SessionEvent::QueryFailed {
            id: id.to_string(),
            error: error.to_string(),
        });
        let _ = q.reply.send(Reply::Fail(q.index, error.to_string()));
        Ok(())
    }

    fn take_pending(&self, id: &str) -> Result<PendingQuery, EngineError> {
        if self.finished.load(Ordering::Acquire) {
            return Err(EngineError::Finished);
        }
        lock(&self.pending)
            .remove(id)
            .ok_or_else(|| EngineError::UnknownQuery(id.to_string()))
    }

    /// Stops the session: the debug hook interrupts running Lua, and every waiting
    /// VM is woken with `Cancelled`.
    pub fn cancel(&self) {
        let mut pending = lock(&self.pending);
        self.cancelled.store(true, Ordering::Release);
        for (_, q) in pending.drain() {
            let _ = q.reply.send(Reply::Cancelled);
        }
    }

    pub fn mark_finished(&self) {
        self.finished.store(true, Ordering::Release);
    }

    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }
}
