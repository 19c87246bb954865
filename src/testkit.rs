//! Test helpers shared by unit tests, integration tests and benchmarks: builders for
//! queries and events, and [`ScriptedSession`], a fake [`SessionPort`] that plays a
//! script of pauses as the engine would (answers echoed as `Answered`, `Resumed` once a
//! pause is fully answered, then the next step; each event carries metrics counting the
//! calls answered and failed so far); [`FakeProvider`], a streaming answer
//! source tests control; [`WatchedBackend`], a test backend reporting its frames;
//! [`FlakySink`], a transcript sink that fails on demand. No real terminal, no Lua, no
//! network.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::app::{Refusal, SessionPort};

mod flaky;
mod provider;
mod screen;

use crate::engine::{
    Answer, BatchPos, Metrics, Outcome, Query, ScriptError, SessionEvent, Site, Stamped, Status,
};
pub use flaky::{Fault, FlakySink};
pub use provider::{Drip, FakePlan, FakeProvider, HeldQuery, FAKE_MODEL};
pub use screen::{wait_for_screen, WatchedBackend};

/// A query asked at `file:line`.
pub fn query(id: &str, prompt: &str, file: &str, line: u32) -> Query {
    Query {
        max_tokens_capped: None,
        id: id.into(),
        prompt: prompt.into(),
        system: None,
        max_tokens: 200,
        grounded: false,
        underspecified: false,
        site: Some(Site {
            file: file.into(),
            line,
        }),
        batch: None,
        fork: None,
    }
}

/// Queries of one `alc.llm_batch`, with their batch positions.
pub fn batch(queries: Vec<Query>) -> Vec<Query> {
    let size = queries.len();
    queries
        .into_iter()
        .enumerate()
        .map(|(index, mut q)| {
            q.batch = Some(BatchPos { index, size });
            q
        })
        .collect()
}

pub fn started(script: &str, ctx: Value) -> SessionEvent {
    SessionEvent::Started {
        script: script.into(),
        script_sha256: "0".repeat(64),
        ctx,
        seed: 42,
        package: None,
        state: Default::default(),
        lineage: Default::default(),
    }
}

pub fn completed(result: Value, metrics: Metrics) -> SessionEvent {
    SessionEvent::Finished(Outcome {
        status: Status::Completed,
        result: Some(result),
        error: None,
        metrics,
    })
}

pub fn failed(message: &str, file: &str, line: u32) -> SessionEvent {
    SessionEvent::Finished(Outcome {
        status: Status::Failed,
        result: None,
        error: Some(ScriptError {
            message: message.into(),
            site: Some(Site {
                file: file.into(),
                line,
            }),
            traceback: Some(format!("stack traceback:\n\t{file}:{line}: in main chunk")),
        }),
        metrics: Metrics::default(),
    })
}

/// What the fake session was told.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeCall {
    Answer(String, Answer),
    Fail(String, String),
    Cancel,
    Abandon,
    Redirect(std::path::PathBuf),
    StopRecording(String),
}

struct Play {
    tx: Option<UnboundedSender<Stamped>>,
    ended: Arc<tokio::sync::Notify>,
    seq: u64,
    steps: VecDeque<Vec<SessionEvent>>,
    waiting: HashSet<String>,
    pause: u64,
    metrics: Metrics,
}

impl Play {
    fn emit(&mut self, event: SessionEvent) {
        self.seq += 1;
        // Each event 100 ms after the previous one, so times are deterministic.
        self.metrics.wall_ms = self.seq * 100;
        self.metrics.elapsed_ms = self.metrics.wall_ms;
        if let Some(tx) = &self.tx {
            let _ = tx.send(Stamped {
                seq: self.seq,
                t_ms: self.seq * 100,
                event,
                metrics: self.metrics.clone(),
            });
        }
    }

    /// Emits the next step; remembers which queries it waits on; closes after the end.
    fn next_step(&mut self) {
        let Some(events) = self.steps.pop_front() else {
            return;
        };
        for event in events {
            let ended = matches!(event, SessionEvent::Finished(_));
            if let SessionEvent::Paused { pause, queries } = &event {
                self.pause = *pause;
                self.waiting.extend(queries.iter().map(|q| q.id.clone()));
            }
            self.emit(event);
            if ended {
                self.tx = None;
                self.ended.notify_one();
                return;
            }
        }
    }

    fn settle(&mut self, id: &str) {
        self.waiting.remove(id);
        if self.waiting.is_empty() {
            let pause = self.pause;
            self.emit(SessionEvent::Resumed { pause });
            self.next_step();
        }
    }
}

/// A fake session that plays `steps`: the first at once, each later one when every
/// query of the previous pause is answered or failed.
pub struct ScriptedSession {
    play: Mutex<Play>,
    /// Plays a strategy stuck in a C call: `cancel` is recorded but ends nothing.
    stuck: bool,
    ended: Arc<tokio::sync::Notify>,
    calls: Mutex<Vec<FakeCall>>,
    person_ready: Mutex<Vec<String>>,
}

impl ScriptedSession {
    pub fn start(
        steps: Vec<Vec<SessionEvent>>,
    ) -> (Arc<ScriptedSession>, UnboundedReceiver<Stamped>) {
        Self::start_with(steps, false)
    }

    /// Like `start`, but the session ignores `cancel` (only `abandon` ends it), as a
    /// strategy stuck inside a C function does.
    pub fn start_stuck(
        steps: Vec<Vec<SessionEvent>>,
    ) -> (Arc<ScriptedSession>, UnboundedReceiver<Stamped>) {
        Self::start_with(steps, true)
    }

    fn start_with(
        steps: Vec<Vec<SessionEvent>>,
        stuck: bool,
    ) -> (Arc<ScriptedSession>, UnboundedReceiver<Stamped>) {
        let (tx, rx) = unbounded_channel();
        let ended = Arc::new(tokio::sync::Notify::new());
        let session = Arc::new(ScriptedSession {
            stuck,
            ended: ended.clone(),
            play: Mutex::new(Play {
                ended,
                tx: Some(tx),
                seq: 0,
                steps: steps.into(),
                waiting: HashSet::new(),
                pause: 0,
                metrics: Metrics::default(),
            }),
            calls: Mutex::new(Vec::new()),
            person_ready: Mutex::new(Vec::new()),
        });
        session.lock().next_step();
        (session, rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Play> {
        self.play.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves once the session has emitted its end (also if that already happened).
    pub async fn ended(&self) {
        self.ended.notified().await
    }

    pub fn calls(&self) -> Vec<FakeCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The queries the session was told are ready for the person, in order.
    pub fn person_ready_calls(&self) -> Vec<String> {
        self.person_ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, call: FakeCall) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }
}

impl SessionPort for ScriptedSession {
    fn answer(&self, id: &str, answer: Answer) -> Result<(), Refusal> {
        let mut play = self.lock();
        if !play.waiting.contains(id) {
            return Err(Refusal::Other(format!("no pending query {id}")));
        }
        self.record(FakeCall::Answer(id.into(), answer.clone()));
        play.metrics.llm_calls += 1;
        play.emit(SessionEvent::Answered {
            id: id.into(),
            answer,
        });
        play.settle(id);
        Ok(())
    }

    fn fail(&self, id: &str, error: &str) -> Result<(), Refusal> {
        let mut play = self.lock();
        if !play.waiting.contains(id) {
            return Err(Refusal::Other(format!("no pending query {id}")));
        }
        self.record(FakeCall::Fail(id.into(), error.into()));
        play.metrics.failed_calls += 1;
        play.emit(SessionEvent::QueryFailed {
            id: id.into(),
            error: error.into(),
        });
        play.settle(id);
        Ok(())
    }

    fn person_ready(&self, id: &str) -> Result<(), String> {
        if !self.lock().waiting.contains(id) {
            return Err(format!("no pending query {id}"));
        }
        self.person_ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.to_string());
        Ok(())
    }

    fn metrics(&self) -> Metrics {
        self.lock().metrics.clone()
    }

    fn cancel(&self) {
        self.record(FakeCall::Cancel);
        if !self.stuck {
            self.end_cancelled();
        }
    }

    fn abandon(&self) {
        self.record(FakeCall::Abandon);
        self.end_cancelled();
    }

    fn redirect_transcript(&self, path: &std::path::Path) -> Result<(), String> {
        self.record(FakeCall::Redirect(path.to_path_buf()));
        Ok(())
    }

    fn stop_recording(&self, reason: &str) {
        self.record(FakeCall::StopRecording(reason.into()));
    }
}

impl ScriptedSession {
    fn end_cancelled(&self) {
        let mut play = self.lock();
        if play.tx.is_some() {
            play.emit(SessionEvent::Finished(Outcome {
                status: Status::Cancelled,
                result: None,
                error: None,
                metrics: Metrics::default(),
            }));
            play.tx = None;
            play.ended.notify_one();
        }
    }
}
