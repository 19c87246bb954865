//! The state one session's VMs share: the ordered event sink, the table of pending
//! queries, the counters, and the cancel flag.
//!
//! Why a shared core and not messages to the VM thread: while a strategy waits in
//! `alc.llm`, its VM thread is blocked, so commands (answer, fail, cancel) must be
//! handled on the caller's thread. They look the query up here, record it (transcript
//! first, written and synced), and only then wake the waiting VM through its reply
//! channel. If the transcript cannot record it, the VM is not woken.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::budget::{Budget, Counters};
use super::error::EngineError;
use super::event::{Answer, LogLevel, Metrics, Outcome, QueryId, SessionEvent, Stamped};
use super::transcript::{TranscriptWriter, WriteError};
pub(crate) use super::vm_life::ExitRequest;
use super::vm_life::{LiveVms, VmAlive};

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
    /// An answer (or failure) for it is being recorded right now.
    recording: bool,
}

struct Sink {
    seq: u64,
    tx: UnboundedSender<Stamped>,
    transcript: Option<TranscriptWriter>,
}

impl Sink {
    /// The event with the next stream `seq` (taken only when published), stamped with
    /// the session's figures at that moment.
    fn stamp(&self, metrics: Metrics, event: SessionEvent) -> Stamped {
        Stamped {
            seq: self.seq + 1,
            t_ms: metrics.wall_ms,
            event,
            metrics,
        }
    }

    fn publish(&mut self, stamped: Stamped) {
        self.seq = stamped.seq;
        let _ = self.tx.send(stamped);
    }
}

/// Settings every VM of the session needs to build its layers.
#[derive(Debug, Clone)]
pub(crate) struct VmSettings {
    /// Where `alc.state` namespaces live (`$ALC_HOME/state`, or a replay's scratch copy).
    pub state_dir: std::path::PathBuf,
    pub memory_limit: usize,
    /// `io.popen` / `os.execute` allowed (`--allow-exec`, config `allow_exec`).
    pub allow_exec: bool,
    /// Variables `os.getenv` hides besides the built-in secret patterns (the
    /// providers' `api_key_env` names of the config in force).
    pub secret_env: Vec<String>,
}

pub(crate) struct SessionCore {
    pub budget: Budget,
    /// Breakpoints and stops, shared by every VM of the session.
    pub debugger: Arc<super::debugger::DebugShared>,
    pub settings: VmSettings,
    sink: Mutex<Sink>,
    pending: Mutex<HashMap<QueryId, PendingQuery>>,
    counters: Mutex<Counters>,
    cancelled: Arc<AtomicBool>,
    finished: AtomicBool,
    next_query: AtomicU64,
    next_pause: AtomicU64,
    exit: Mutex<Option<ExitRequest>>,
    /// Lua states of this session still alive (root and fork children).
    live_vms: Arc<LiveVms>,
    /// Answers some queries on the VM thread (`engine::instant`).
    pub instant: Option<Arc<dyn super::instant::InstantAnswers>>,
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
            debugger: Arc::new(super::debugger::DebugShared::new()),
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
            exit: Mutex::new(None),
            live_vms: Arc::new(LiveVms::default()),
            instant: None,
        }
    }

    /// Stamps, records and publishes an event nobody waits on (a log, a query, the
    /// end). Under one lock, so the transcript and the stream see the same order.
    ///
    /// Such an event cannot be refused: the strategy has already done it. So when the
    /// transcript cannot be written, the event still goes out on the stream, its lines
    /// stay in the writer's memory, and the failure is announced once (an error log).
    /// The next answer tries to write them all and is refused while that fails: nothing
    /// a person sends is acknowledged while the transcript is missing lines.
    pub fn emit(&self, event: SessionEvent) {
        let mut sink = lock(&self.sink);
        // `end` is the last line: once the session is finished (see `finish`), a VM
        // that outlived it (stuck in a C call, a fork child left behind) records nothing.
        if self.is_finished() && !matches!(event, SessionEvent::Finished(_)) {
            return;
        }
        let stamped = sink.stamp(self.metrics(), event);
        let new_failure = sink.transcript.as_mut().and_then(|w| {
            let was_failing = w.failure().is_some();
            w.write(&stamped).err().filter(|_| !was_failing)
        });
        sink.publish(stamped);
        if let Some(error) = new_failure {
            let warning = sink.stamp(
                self.metrics(),
                SessionEvent::Log {
                    level: LogLevel::Error,
                    msg: format!(
                        "{error}; the events are kept in memory and written with the next \
                         answer, which is not acknowledged until they are"
                    ),
                },
            );
            if let Some(w) = sink.transcript.as_mut() {
                let _ = w.write(&warning); // kept in memory with the rest
            }
            sink.publish(warning);
        }
    }

    /// Records an event someone waits on (an answer, a query failure): written and
    /// synced first, published only then. On error nothing is published and the
    /// counters are untouched.
    ///
    /// `settle` is what the event does to the counters (a call counted, a person's
    /// wait ended). The event carries the figures with it applied, so it is worked out
    /// on a copy first and applied for real only once the line is written; both under
    /// the sink lock, so the next event's figures include it.
    fn record(
        &self,
        event: SessionEvent,
        settle: impl Fn(&mut Counters, Instant),
    ) -> Result<(), WriteError> {
        let mut sink = lock(&self.sink);
        let now = Instant::now();
        let metrics = {
            let mut after = self.counters().clone();
            settle(&mut after, now);
            after.snapshot_at(now)
        };
        let stamped = sink.stamp(metrics, event);
        if let Some(w) = sink.transcript.as_mut() {
            w.write_acknowledged(&stamped)?;
        }
        settle(&mut self.counters(), now);
        sink.publish(stamped);
        Ok(())
    }

    /// Writes the whole transcript so far to `path` and records there from now on.
    /// The move itself is logged (in the new file too).
    pub fn redirect_transcript(&self, path: &Path) -> Result<(), EngineError> {
        let from = {
            let mut sink = lock(&self.sink);
            let writer = sink.transcript.as_mut().ok_or(EngineError::NotRecording)?;
            let from = writer.path().to_path_buf();
            writer
                .move_to(path)
                .map_err(|error| EngineError::TranscriptRedirect {
                    stays: from.clone(),
                    error,
                })?;
            from
        };
        self.emit(SessionEvent::Log {
            level: LogLevel::Warn,
            msg: format!(
                "transcript moved from {} to {}; the new file holds the whole transcript",
                from.display(),
                path.display()
            ),
        });
        Ok(())
    }

    /// Stops recording: later events (answers included) are not written anywhere. The
    /// choice is itself an event on the stream, and the last line of the transcript if
    /// the file still takes it. Does nothing when not recording.
    pub fn stop_recording(&self, reason: &str) {
        let mut sink = lock(&self.sink);
        let Some(mut writer) = sink.transcript.take() else {
            return;
        };
        let stamped = sink.stamp(
            self.metrics(),
            SessionEvent::Log {
                level: LogLevel::Warn,
                msg: format!(
                    "transcript {}: recording stopped ({reason}); later events are not recorded",
                    writer.path().display()
                ),
            },
        );
        // Best effort: the file failed already, and the person chose to go on.
        let _ = writer.write_acknowledged(&stamped);
        sink.publish(stamped);
    }

    /// Where the transcript is being written, if it is.
    pub fn transcript_path(&self) -> Option<PathBuf> {
        let sink = lock(&self.sink);
        sink.transcript.as_ref().map(|w| w.path().to_path_buf())
    }

    /// The failure keeping transcript lines out of the file, if any.
    pub fn transcript_failure(&self) -> Option<String> {
        let sink = lock(&self.sink);
        sink.transcript
            .as_ref()
            .and_then(|w| w.failure())
            .map(|e| e.to_string())
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
                    recording: false,
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
        match pending.get(id) {
            None => return Err(EngineError::UnknownQuery(id.to_string())),
            // Its answer may already have settled the counters (see `record`); marking
            // it now would start a wait nothing ends. A wait begun earlier is kept if
            // that answer is refused.
            Some(q) if q.recording => return Err(EngineError::AnswerInFlight(id.to_string())),
            Some(_) => {}
        }
        // Under the pending lock, so an answer cannot claim the query in between.
        self.counters().person_ready(id, Instant::now());
        Ok(())
    }

    /// The person's wait on a pending query ends without an answer: it went back to
    /// a model (`f5` after `ctrl-r`), whose drafting time is the strategy's again.
    /// Nothing happens for a query that is not waiting for a person.
    pub fn person_away(&self, id: &str) {
        let _pending = lock(&self.pending);
        self.counters().person_wait_ends(id, Instant::now());
    }

    /// Answers a query: recorded (written and synced) first, and only then is the
    /// query taken off the pending table and its VM woken. If the transcript cannot
    /// record it, the query stays pending and the error says so.
    pub fn answer(&self, id: &str, answer: Answer) -> Result<(), EngineError> {
        let event = SessionEvent::Answered {
            id: id.to_string(),
            answer: answer.clone(),
        };
        let settle = |c: &mut Counters, prompt_tokens: u64, now: Instant| {
            c.record_answer_at(id, prompt_tokens, &answer, now);
        };
        if let Some(q) = self.acknowledge(id, event, settle, format!("the answer to {id}"))? {
            let _ = q.reply.send(Reply::Answer(q.index, answer));
        }
        Ok(())
    }

    /// Fails a query, with the same order as [`Self::answer`]: recorded first.
    pub fn fail(&self, id: &str, error: &str) -> Result<(), EngineError> {
        let event = SessionEvent::QueryFailed {
            id: id.to_string(),
            error: error.to_string(),
        };
        let settle = |c: &mut Counters, _: u64, now: Instant| c.record_failure_at(id, now);
        if let Some(q) = self.acknowledge(id, event, settle, format!("the failure of {id}"))? {
            let _ = q.reply.send(Reply::Fail(q.index, error.to_string()));
        }
        Ok(())
    }

    /// Claims the pending query `id`, records `event`, and on success takes the query
    /// off the table (None if a cancel took it meanwhile). The pending lock is not held
    /// while the disk syncs, so a cancel never waits on the disk; the claim keeps a
    /// second answer for the same query out in the meantime.
    fn acknowledge(
        &self,
        id: &str,
        event: SessionEvent,
        settle: impl Fn(&mut Counters, u64, Instant),
        what: String,
    ) -> Result<Option<PendingQuery>, EngineError> {
        if self.finished.load(Ordering::Acquire) {
            return Err(EngineError::Finished);
        }
        let prompt_tokens = {
            let mut pending = lock(&self.pending);
            let q = pending
                .get_mut(id)
                .ok_or_else(|| EngineError::UnknownQuery(id.to_string()))?;
            if q.recording {
                return Err(EngineError::AnswerInFlight(id.to_string()));
            }
            q.recording = true;
            q.prompt_tokens
        };
        let recorded = self.record(event, |c, now| settle(c, prompt_tokens, now));
        let mut pending = lock(&self.pending);
        match recorded {
            Ok(()) => Ok(pending.remove(id)),
            Err(error) => {
                if let Some(q) = pending.get_mut(id) {
                    q.recording = false;
                }
                Err(EngineError::TranscriptWrite { what, error })
            }
        }
    }

    /// Stops the session: the debug hook interrupts running Lua, and every waiting
    /// VM is woken with `Cancelled`.
    pub fn cancel(&self) {
        let mut pending = lock(&self.pending);
        self.cancelled.store(true, Ordering::Release);
        for (_, q) in pending.drain() {
            let _ = q.reply.send(Reply::Cancelled);
        }
        drop(pending);
        // A VM stopped in the debugger unwinds too.
        self.debugger.cancel_all();
    }

    /// Ends the session with `outcome`, once: the first caller records and publishes
    /// `Finished`, later ones (the VM's own end after the session was abandoned, or
    /// the reverse) change nothing. Returns whether this call ended the session.
    pub fn finish(&self, outcome: Outcome) -> bool {
        if self.finished.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.emit(SessionEvent::Finished(outcome));
        true
    }

    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// `os.exit` from any VM of the session: the first request is kept, and the
    /// session is stopped through the cancel machinery (hook, pcall re-raise, wake-up
    /// of waiting VMs), so it cannot be swallowed and it stops fork siblings too.
    pub fn request_exit(&self, request: ExitRequest) {
        lock(&self.exit).get_or_insert(request);
        self.cancel();
    }

    pub fn exit_request(&self) -> Option<ExitRequest> {
        lock(&self.exit).clone()
    }

    /// Counts a Lua state as alive until the returned guard is dropped (the guard
    /// lives in the state's app data, so it drops with the state).
    pub fn vm_alive(&self) -> VmAlive {
        self.live_vms.alive()
    }

    /// Waits until every Lua state of the session has been dropped; false on timeout.
    pub fn wait_vms_closed(&self, timeout: Duration) -> bool {
        self.live_vms.wait_closed(timeout)
    }
}
