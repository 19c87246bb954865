//! Replay and time travel, engine side: a transcript read back as a [`Recording`], and
//! a [`ReplayCursor`] that answers a new run's queries from it while they still match.
//!
//! Matching is by position, per stream: the main strategy is one stream and every
//! `alc.fork` child (by package name) is another, because children run concurrently
//! and their queries interleave differently in every run. The n-th query of a stream
//! matches the n-th recorded query of the same stream when its prompt, system,
//! max_tokens, grounded/underspecified flags and batch position are the same (the call
//! site is not compared: an edit above a call moves its line without changing what it
//! asks). The first query that does not match ends the replay for the whole run: it is
//! the [`Divergence`], and it and every later query go to the live answer source.
//!
//! Rewind (`until`) and what-if (`hold`) are positions in the recording (1-based, file
//! order): `until(n)` replays recorded queries 1..=n and then stops; `hold(k)` hands
//! query k to the person (its old answer as the draft) and goes on replaying after it.
//!
//! Reading a transcript is `replay_recording.rs`; comparing two transcripts query by
//! query is `replay_diff.rs`; the scratch state
//! directory a replay runs on is `replay_state.rs`. This room reads the transcript
//! file it is given and the recorded namespace, writes only its scratch directory
//! under the system temp dir, and runs nothing.

use std::collections::HashMap;

use super::event::Query;

#[path = "replay_diff.rs"]
mod diff;
#[path = "replay_recording.rs"]
mod recording;
#[path = "replay_state.rs"]
mod scratch;
pub use diff::{diff, unified_diff, Change, QueryDiff, RecordingDiff};
pub use recording::{RecordedEnd, RecordedQuery, Recording, RecordingError, Reply};
pub(crate) use scratch::snapshot_state;
pub use scratch::ScratchState;

/// The stream a query belongs to: `None` for the main strategy, else the fork child.
pub type StreamKey = Option<String>;

/// A field of a query that a replay compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryField {
    Prompt,
    System,
    MaxTokens,
    Grounded,
    Underspecified,
    Batch,
}

impl QueryField {
    pub fn label(self) -> &'static str {
        match self {
            QueryField::Prompt => "prompt",
            QueryField::System => "system",
            QueryField::MaxTokens => "max_tokens",
            QueryField::Grounded => "grounded",
            QueryField::Underspecified => "underspecified",
            QueryField::Batch => "batch",
        }
    }
}

/// The fields in which `new` differs from `recorded`, in the order above.
pub fn changed_fields(recorded: &Query, new: &Query) -> Vec<QueryField> {
    let checks = [
        (QueryField::Prompt, recorded.prompt == new.prompt),
        (QueryField::System, recorded.system == new.system),
        (QueryField::MaxTokens, recorded.max_tokens == new.max_tokens),
        (QueryField::Grounded, recorded.grounded == new.grounded),
        (
            QueryField::Underspecified,
            recorded.underspecified == new.underspecified,
        ),
        (QueryField::Batch, recorded.batch == new.batch),
    ];
    checks
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(f, _)| f)
        .collect()
}

/// Why a new query does not take its recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The recorded query at this place asked something else.
    Changed(Vec<QueryField>),
    /// The recording has no more queries in this stream.
    Beyond,
    /// The query comes from a fork child the recording never ran.
    UnknownFork,
    /// The recorded run never answered this query (it ended there).
    Unanswered,
}

/// The first query of a new run that does not match the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The new query.
    pub query: Query,
    /// The recorded query at the same place, if there is one.
    pub recorded: Option<RecordedQuery>,
    /// Position in the recording (of `recorded`; one past the end when beyond it).
    pub position: usize,
    pub mismatch: Mismatch,
}

impl Divergence {
    /// `q-K (query K)`, with the fork child when the query is from one.
    pub fn place(&self) -> String {
        let mut s = format!("{} (query {}", self.query.id, self.position);
        if let Some(fork) = &self.query.fork {
            s.push_str(&format!(", fork child {fork}"));
        }
        s.push(')');
        s
    }

    /// What differs, in a few words.
    pub fn reason(&self) -> String {
        match &self.mismatch {
            Mismatch::Changed(fields) => {
                let rec = self.recorded.as_ref().map(|r| &r.query);
                match (
                    fields.as_slice(),
                    rec.and_then(|r| r.batch),
                    self.query.batch,
                ) {
                    ([QueryField::Batch, ..], Some(old), Some(new)) if old.size != new.size => {
                        format!(
                            "a recorded batch of {} replayed against a batch of {}",
                            old.size, new.size
                        )
                    }
                    _ => {
                        let names: Vec<_> = fields.iter().map(|f| f.label()).collect();
                        format!("{} changed", names.join(", "))
                    }
                }
            }
            Mismatch::Beyond => match &self.query.fork {
                Some(fork) => format!("the recording has no more queries from fork child {fork}"),
                None => "the recording has no more queries".into(),
            },
            Mismatch::UnknownFork => format!(
                "fork child {} is not in the recording",
                self.query.fork.as_deref().unwrap_or("?")
            ),
            Mismatch::Unanswered => "the recorded run never answered it (it ended there)".into(),
        }
    }
}

/// Why a replay stopped answering from the recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Diverged(Box<Divergence>),
    /// `until(n)` reached: recorded query n was the last one replayed.
    Until(usize),
}

/// What to do with one new query.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Answer it with the recorded reply (`source: "replay"`).
    Replay(Reply),
    /// Hand it to the live source (or the person). `draft`: the recorded answer at
    /// this place, offered as the draft. `stopped`: set on the query where the replay
    /// stopped (once); later queries carry `None`.
    Handover {
        draft: Option<String>,
        stopped: Option<Stop>,
    },
}

/// One stream's recorded queries (indices into `Recording::queries`) and how many of
/// them the new run has asked so far.
#[derive(Debug, Default)]
struct Stream {
    recorded: Vec<usize>,
    asked: usize,
}

/// Answers a new run's queries from a [`Recording`] while they match. Not `Sync` by
/// itself: a driver shares it behind a mutex, and must step it in the order queries
/// are handed over (batch index order).
#[derive(Debug)]
pub struct ReplayCursor {
    recording: std::sync::Arc<Recording>,
    streams: HashMap<StreamKey, Stream>,
    until: Option<usize>,
    hold: Option<usize>,
    stop: Option<Stop>,
    replayed: usize,
}

impl ReplayCursor {
    pub fn new(recording: std::sync::Arc<Recording>) -> Self {
        let mut streams: HashMap<StreamKey, Stream> = HashMap::new();
        for (i, q) in recording.queries.iter().enumerate() {
            streams
                .entry(q.query.fork.clone())
                .or_default()
                .recorded
                .push(i);
        }
        ReplayCursor {
            recording,
            streams,
            until: None,
            hold: None,
            stop: None,
            replayed: 0,
        }
    }

    /// Rewind: replay recorded queries 1..=n only (`n = 0`: none).
    pub fn until(mut self, n: usize) -> Self {
        self.until = Some(n);
        self
    }

    /// What-if: recorded query `k` waits for the person (old answer as the draft);
    /// queries after it are replayed again while they match.
    pub fn hold(mut self, k: usize) -> Self {
        self.hold = Some(k);
        self
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// The same replay from its start (same recording, `until` and `hold`), for a
    /// re-run: nothing replayed yet, nothing stopped.
    pub fn rewound(&self) -> ReplayCursor {
        let mut fresh = ReplayCursor::new(self.recording.clone());
        fresh.until = self.until;
        fresh.hold = self.hold;
        fresh
    }

    /// Answers replayed so far.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// Why the replay stopped, once it has.
    pub fn stopped(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// Decides the fate of the next query of its stream.
    pub fn next(&mut self, query: &Query) -> Step {
        let already_stopped = self.stop.is_some();
        let stream = self.streams.entry(query.fork.clone()).or_default();
        stream.asked += 1;
        let recorded = stream
            .recorded
            .get(stream.asked - 1)
            .map(|&i| &self.recording.queries[i]);
        let draft = recorded
            .and_then(|r| r.reply.as_ref())
            .map(|r| r.text().to_string());
        if already_stopped {
            return Step::Handover {
                draft,
                stopped: None,
            };
        }
        let fork_known = stream.asked > 1 || !stream.recorded.is_empty();
        let diverge = |mismatch, recorded: Option<&RecordedQuery>, total: usize| {
            Stop::Diverged(Box::new(Divergence {
                query: query.clone(),
                position: recorded.map_or(total + 1, |r| r.position),
                recorded: recorded.cloned(),
                mismatch,
            }))
        };
        let total = self.recording.queries.len();
        let stop = match recorded {
            None if query.fork.is_some() && !fork_known => {
                diverge(Mismatch::UnknownFork, None, total)
            }
            None => diverge(Mismatch::Beyond, None, total),
            Some(rec) => {
                if self.until.is_some_and(|n| rec.position > n) {
                    Stop::Until(self.until.unwrap_or_default())
                } else {
                    let fields = changed_fields(&rec.query, query);
                    match (&rec.reply, fields.is_empty()) {
                        (_, false) => diverge(Mismatch::Changed(fields), Some(rec), total),
                        (None, true) => diverge(Mismatch::Unanswered, Some(rec), total),
                        (Some(_), true) if self.hold == Some(rec.position) => {
                            return Step::Handover {
                                draft,
                                stopped: None,
                            }
                        }
                        (Some(reply), true) => {
                            self.replayed += 1;
                            return Step::Replay(reply.clone());
                        }
                    }
                }
            }
        };
        self.stop = Some(stop.clone());
        Step::Handover {
            draft,
            stopped: Some(stop),
        }
    }

    /// Recorded queries the new run never asked, in file order (the run took another
    /// path, or a fork child no longer runs).
    pub fn unasked(&self) -> Vec<&RecordedQuery> {
        let mut left: Vec<&RecordedQuery> = self
            .streams
            .values()
            .flat_map(|s| s.recorded.iter().skip(s.asked))
            .map(|&i| &self.recording.queries[i])
            .collect();
        left.sort_by_key(|q| q.position);
        left
    }

    /// Fork children of the recording that asked nothing in the new run.
    pub fn silent_forks(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .streams
            .iter()
            .filter(|(k, s)| k.is_some() && s.asked == 0 && !s.recorded.is_empty())
            .filter_map(|(k, _)| k.clone())
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
