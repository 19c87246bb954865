//! The state one session's VMs share: the ordered event sink, the table of pending
//! queries, the counters, and the cancel flag.
//!
//! Why a shared core and not messages to the VM thread: while a strategy waits in
//! `alc.llm`, its VM thread is blocked, so commands (answer, fail, cancel) must be
//! handled on the caller's thread. They look the query up here, record it (transcript
//! first, flushed), and only then wake the waiting VM through its reply channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::budget::{Budget, Counters};
use super::error::EngineError;
use super::event::{Answer, Metrics, QueryId, SessionEvent, Site, Stamped};
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
    /// `io.popen` / `os.execute` allowed (`--allow-exec`, config `allow_exec`).
    pub allow_exec: bool,
    /// Variables `os.getenv` hides besides the built-in secret patterns (the
    /// providers' `api_key_env` names of the config in force).
    pub secret_env: Vec<String>,
}

/// A strategy called `os.exit`: the session ends failed, saying so.
#[derive(Debug, Clone)]
pub(crate) struct ExitRequest {
    pub code: i64,
    /// The forked package that called it, when not the root VM.
    pub fork: Option<String>,
    pub site: Option<Site>,
}

impl ExitRequest {
    pub fn message(&self) -> String {
        let who = match &self.fork {
            Some(name) => format!(" in forked package {name}"),
            None => String::new(),
        };
        format!(
            "os.exit called (code {}){who}: the strategy ended itself",
            self.code
        )
    }
}

pub(crate) struct SessionCore {
    pub start: Instant,
    pub budget: Budget,
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
    live_vms: Mutex<usize>,
    vms_closed: Condvar,
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
            start,
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
            exit: Mutex::new(None),
            live_vms: Mutex::new(0),
            vms_closed: Condvar::new(),
        }
    }

    /// Stamps, records and publishes one event. Under one lock, so the transcript and
    /// the stream see the same order.
    pub fn emit(&self, event: SessionEvent) {
        let mut sink = lock(&self.sink);
        sink.seq += 1;
        let stamped = Stamped {
            seq: sink.seq,
            t_ms: self.start.elapsed().as_millis() as u64,
            event,
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
        lock(&self.pending).retain(|_, q| q.pause != pause);
    }

    pub fn answer(&self, id: &str, answer: Answer) -> Result<(), EngineError> {
        let q = self.take_pending(id)?;
        self.counters().record_answer(q.prompt_tokens, &answer);
        self.emit(SessionEvent::Answered {
            id: id.to_string(),
            answer: answer.clone(),
        });
        let _ = q.reply.send(Reply::Answer(q.index, answer));
        Ok(())
    }

    pub fn fail(&self, id: &str, error: &str) -> Result<(), EngineError> {
        let q = self.take_pending(id)?;
        self.counters().record_failure();
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
    pub fn vm_alive(self: &Arc<Self>) -> VmAlive {
        *lock(&self.live_vms) += 1;
        VmAlive { core: self.clone() }
    }

    /// Waits until every Lua state of the session has been dropped; false on timeout.
    pub fn wait_vms_closed(&self, timeout: Duration) -> bool {
        let live = lock(&self.live_vms);
        let (live, _) = self
            .vms_closed
            .wait_timeout_while(live, timeout, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        *live == 0
    }
}

/// See [`SessionCore::vm_alive`].
pub(crate) struct VmAlive {
    core: Arc<SessionCore>,
}

impl Drop for VmAlive {
    fn drop(&mut self) {
        // The guard drops after the Lua state has freed its memory. glibc keeps freed
        // heap pages of the VM thread's arena mapped; hand them back, so a finished
        // memory hog does not leave the workbench's RSS at its peak.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory; it takes no pointers.
        unsafe {
            libc::malloc_trim(0);
        }
        let mut live = lock(&self.core.live_vms);
        *live = live.saturating_sub(1);
        self.core.vms_closed.notify_all();
    }
}
