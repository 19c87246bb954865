//! The replay answer source: answers from a recording while the new run's queries
//! match it ([`ReplayCursor`]), then hands every later query to the live source it
//! wraps (or, with none, leaves the query waiting: a replay check stops there).
//!
//! The cursor is stepped inside `answer()`, before the future is returned, so queries
//! handed over in batch index order step it in that order whatever the awaiting does.
//!
//! Whether a person answers differs per query here (the recording never is one, a
//! live stdin source is), so the source says it is not answered by a person and
//! instead tells its person-ready notice about each query it hands to such a source,
//! just before handing it over: the driver can then start the person's clock.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{AnswerFuture, AnswerSource, RestartFuture, SourceError};
use crate::engine::replay::{ReplayCursor, Reply, Step, Stop};
use crate::engine::{AnswerOrigin, Query};

/// Told once, on the query where the replay stops (a divergence or `--until`).
pub type StopNotice = Arc<dyn Fn(&Stop) + Send + Sync>;

/// Told the query id of every query handed to a live source a person answers.
pub type PersonNotice = Arc<dyn Fn(&str) + Send + Sync>;

pub struct ReplaySource {
    cursor: Arc<Mutex<ReplayCursor>>,
    live: Option<Arc<dyn AnswerSource>>,
    on_stop: Option<StopNotice>,
    on_person: Option<PersonNotice>,
}

impl ReplaySource {
    /// `live` answers once the replay has stopped; `None` leaves those queries
    /// waiting forever (the driver is expected to cancel the session on the stop).
    pub fn new(cursor: ReplayCursor, live: Option<Arc<dyn AnswerSource>>) -> Self {
        ReplaySource {
            cursor: Arc::new(Mutex::new(cursor)),
            live,
            on_stop: None,
            on_person: None,
        }
    }

    pub fn with_stop_notice(mut self, notice: StopNotice) -> Self {
        self.on_stop = Some(notice);
        self
    }

    /// Called before a query goes to a live source answered by a person (stdin).
    pub fn with_person_notice(mut self, notice: PersonNotice) -> Self {
        self.on_person = Some(notice);
        self
    }

    /// The cursor, for what it knows after the run (replayed count, unasked queries).
    pub fn cursor(&self) -> MutexGuard<'_, ReplayCursor> {
        self.cursor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A handle on the cursor that outlives this source.
    pub fn shared_cursor(&self) -> Arc<Mutex<ReplayCursor>> {
        self.cursor.clone()
    }
}

impl AnswerSource for ReplaySource {
    fn name(&self) -> &str {
        "replay"
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        let step = self.cursor().next(query);
        match step {
            Step::Replay(Reply::Answer(mut answer)) => {
                answer.source = AnswerOrigin::Replay;
                answer.latency_ms = 0;
                Box::pin(async move { Ok(answer) })
            }
            Step::Replay(Reply::Failed(error)) => {
                Box::pin(async move { Err(SourceError::Failed(error)) })
            }
            Step::Handover { stopped, .. } => {
                if let (Some(stop), Some(notice)) = (&stopped, &self.on_stop) {
                    notice(stop);
                }
                match &self.live {
                    Some(live) => {
                        if let (true, Some(notice)) = (live.answered_by_person(), &self.on_person) {
                            notice(&query.id);
                        }
                        live.answer(query)
                    }
                    None => Box::pin(std::future::pending()),
                }
            }
        }
    }

    /// Starts the replay over from the recording's first query, and the live source
    /// with it.
    fn restart(&self) -> RestartFuture<'_> {
        {
            let mut cursor = self.cursor();
            *cursor = cursor.rewound();
        }
        match &self.live {
            Some(live) => live.restart(),
            None => Box::pin(std::future::ready(())),
        }
    }
}
