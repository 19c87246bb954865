//! The replay answer source: answers from a recording while the new run's queries
//! match it ([`ReplayCursor`]), then hands every later query to the live source it
//! wraps (or, with none, leaves the query waiting: a replay check stops there).
//!
//! The cursor is stepped inside `answer()`, before the future is returned, so queries
//! handed over in batch index order step it in that order whatever the awaiting does.
//!
//! Headless, the source is also the session's instant answers (`engine::instant`):
//! replayed answers are then given on the VM thread, and `answer()` only sees the
//! queries the replay hands over, whose fate `answer_now` already decided (kept by
//! query id, so the cursor is stepped exactly once per query either way).
//!
//! Whether a person answers differs per query here (the recording never is one, a
//! live stdin source is), so the source says it is not answered by a person and
//! instead tells its person-ready notice about each query it hands to such a source,
//! just before handing it over: the driver can then start the person's clock.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{AnswerFuture, AnswerSource, RestartFuture, SourceError};
use crate::engine::replay::{ReplayCursor, Reply, Step, Stop};
use crate::engine::{Answer, AnswerOrigin, InstantAnswers, Query, QueryId};

/// Told once, on the query where the replay stops (a divergence or `--until`).
pub type StopNotice = Arc<dyn Fn(&Stop) + Send + Sync>;

/// Told the query id of every query handed to a live source a person answers.
pub type PersonNotice = Arc<dyn Fn(&str) + Send + Sync>;

pub struct ReplaySource {
    cursor: Arc<Mutex<ReplayCursor>>,
    live: Option<Arc<dyn AnswerSource>>,
    on_stop: Option<StopNotice>,
    on_person: Option<PersonNotice>,
    /// Queries answered on the VM thread, until the driver asks about them.
    inline: Mutex<HashSet<QueryId>>,
    /// Steps decided on the VM thread for queries left to the driver.
    decided: Mutex<HashMap<QueryId, Step>>,
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
            inline: Mutex::new(HashSet::new()),
            decided: Mutex::new(HashMap::new()),
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

/// A recorded answer as this run's: from the replay, taking no time.
fn as_replayed(mut answer: Answer) -> Answer {
    answer.source = AnswerOrigin::Replay;
    answer.latency_ms = 0;
    answer
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl InstantAnswers for ReplaySource {
    /// A recorded answer that still matches is given at once; anything else (a
    /// recorded failure, the hand-over) is kept for `answer()`.
    fn answer_now(&self, query: &Query) -> Option<Answer> {
        match self.cursor().next(query) {
            Step::Replay(Reply::Answer(answer)) => {
                lock(&self.inline).insert(query.id.clone());
                Some(as_replayed(answer))
            }
            other => {
                lock(&self.decided).insert(query.id.clone(), other);
                None
            }
        }
    }
}

impl AnswerSource for ReplaySource {
    fn name(&self) -> &str {
        "replay"
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        let decided = lock(&self.decided).remove(&query.id);
        let step = decided.unwrap_or_else(|| self.cursor().next(query));
        match step {
            Step::Replay(Reply::Answer(answer)) => {
                let answer = as_replayed(answer);
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

    fn answered_inline(&self, id: &str) -> bool {
        lock(&self.inline).remove(id)
    }

    /// Starts the replay over from the recording's first query, and the live source
    /// with it.
    fn restart(&self) -> RestartFuture<'_> {
        {
            let mut cursor = self.cursor();
            *cursor = cursor.rewound();
        }
        lock(&self.inline).clear();
        lock(&self.decided).clear();
        match &self.live {
            Some(live) => live.restart(),
            None => Box::pin(std::future::ready(())),
        }
    }
}
