//! Replay and time travel in the TUI, model side: the run being replayed (its cursor
//! and what the status bar says about it), edit-and-replay (`R`), what-if (`w` in the
//! Trace pane) and the diff overlay's state
//! (`D`, in `replay_diff.rs`). Queries of a replayed run are
//! stepped through the engine's [`ReplayCursor`] here, in the order they arrive:
//! a replayed answer goes to the session at once (like a fast answer source, recorded
//! as `replay`); a query handed over goes to the current mode, or to the person with
//! the recorded answer as the draft (`--until`, what-if). Transcripts are read by the
//! runtime (`Effect::ReadTranscript`, `Effect::DiffTranscripts`), never here. Pure.

use std::path::PathBuf;
use std::sync::Arc;

use super::pending::{PendingQuery, QueryStatus};
use super::trace::TraceKind;
use super::{modes, Action, App, Effect};
use crate::engine::replay::{Recording, ReplayCursor, Reply, Step, Stop};

#[path = "replay_diff.rs"]
mod diff;
/// What changed for one query between two runs (the ui draws it from here).
pub use crate::engine::replay::Change;
use crate::engine::{Answer, AnswerOrigin, Query, QueryId};
pub use diff::{counts_line, is_change, Detail, DiffData, DiffOverlay, ResultView};
pub(super) use diff::{diff_ready, open_diff, scroll_diff, toggle_open};

/// What a started run replays; carried by the `StartRequest` so the starter can run
/// it on a scratch copy of the recorded state, with the recorded seed and lineage.
#[derive(Debug, Clone)]
pub struct ReplayStart {
    pub recording: Arc<Recording>,
    /// `--until N`: recorded answers 1..=N only; query N+1 waits for the person.
    pub until: Option<usize>,
    /// What-if: the recorded query at this position waits for the person.
    pub hold: Option<usize>,
    /// What-if: the query branched at (the transcript records `parent` and `branch_at`
    /// instead of `replay_of`).
    pub branch_at: Option<QueryId>,
    /// Said in the status bar as the run starts (the script differs from the
    /// recorded one: edit and replay).
    pub note: Option<String>,
}

impl PartialEq for ReplayStart {
    fn eq(&self, other: &Self) -> bool {
        self.recording.path == other.recording.path
            && self.recording.sha256 == other.recording.sha256
            && self.until == other.until
            && self.hold == other.hold
            && self.branch_at == other.branch_at
    }
}

impl ReplayStart {
    pub fn new(recording: Arc<Recording>) -> Self {
        ReplayStart {
            recording,
            until: None,
            hold: None,
            branch_at: None,
            note: None,
        }
    }

    fn cursor(&self) -> ReplayCursor {
        let mut cursor = ReplayCursor::new(self.recording.clone());
        if let Some(n) = self.until {
            cursor = cursor.until(n);
        }
        if let Some(k) = self.hold {
            cursor = cursor.hold(k);
        }
        cursor
    }
}

/// Why a transcript is read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadPurpose {
    /// `R`: replay the last run's answers up to the first changed prompt.
    EditReplay,
    /// `w`: re-run with this query waiting for the person.
    WhatIf(QueryId),
}

/// How far the replay of the current run is.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayStatus {
    Replaying,
    /// `replay ended at q-8: prompt changed`.
    Ended(String),
    Complete,
}

/// The replay of the running (or last) run.
#[derive(Debug, Clone)]
pub struct ReplayRun {
    pub cursor: ReplayCursor,
    /// Answers it may replay: `--until`'s N, else every recorded answer (but a
    /// what-if's held one).
    pub total: usize,
    pub status: ReplayStatus,
}

/// The TUI's replay state.
#[derive(Debug, Clone, Default)]
pub struct ReplayState {
    /// The current run's replay, if it is one.
    pub run: Option<ReplayRun>,
    /// The transcript the current run is compared with by `D`: its parent (what-if),
    /// or the transcript it replayed.
    pub compare_with: Option<PathBuf>,
    /// The current run's own transcript.
    pub transcript: Option<PathBuf>,
    /// The script file changed on disk since the run started.
    pub script_changed: bool,
}

impl ReplayState {
    /// The status bar's words: `replaying 7/9`, `replay ended at q-8: …`, `replay
    /// complete`.
    pub fn label(&self) -> Option<String> {
        let run = self.run.as_ref()?;
        Some(match &run.status {
            ReplayStatus::Replaying => format!("replaying {}/{}", run.cursor.replayed(), run.total),
            ReplayStatus::Ended(why) => why.clone(),
            ReplayStatus::Complete => "replay complete".into(),
        })
    }
}

/// The status bar note when the script changed on disk.
pub fn changed_note(app: &App) -> String {
    let key = app
        .keymap
        .hint(Action::ReplayEdited)
        .unwrap_or_else(|| "R".into());
    format!("script changed on disk · {key} replays to the first changed prompt")
}

/// Sets up the replay of a run about to start.
pub(super) fn begin(app: &mut App, start: Option<&ReplayStart>) {
    app.replay.script_changed = false;
    app.replay.run = start.map(|s| ReplayRun {
        cursor: s.cursor(),
        // (A what-if's held query is answered by the person, not replayed.)
        total: s.until.unwrap_or_else(|| {
            s.recording
                .replies()
                .saturating_sub(usize::from(s.hold.is_some()))
        }),
        status: ReplayStatus::Replaying,
    });
    app.replay.compare_with = start.map(|s| s.recording.path.clone());
}

/// A new query: stepped through the replay when the run is one, else routed by mode.
pub(super) fn route(
    app: &mut App,
    query: Query,
    now_ms: u64,
    fx: &mut Vec<Effect>,
) -> PendingQuery {
    let Some(run) = app.replay.run.as_mut() else {
        return modes::route(app, query, now_ms, fx);
    };
    let was_stopped = run.cursor.stopped().is_some();
    match run.cursor.next(&query) {
        Step::Replay(Reply::Answer(mut answer)) => {
            answer.source = AnswerOrigin::Replay;
            answer.latency_ms = 0;
            let status = QueryStatus::Answered {
                source: "replay".into(),
                text: answer.text.clone(),
            };
            fx.push(Effect::AnswerQuery {
                id: query.id.clone(),
                answer,
            });
            PendingQuery::new(query, status, now_ms)
        }
        Step::Replay(Reply::Failed(error)) => {
            fx.push(Effect::FailQuery {
                id: query.id.clone(),
                error,
            });
            PendingQuery::new(query, QueryStatus::Sent, now_ms)
        }
        Step::Handover { draft, stopped } => {
            let held = stopped.is_none() && !was_stopped;
            let until = matches!(stopped, Some(Stop::Until(_)));
            if let Some(stop) = &stopped {
                let why = match stop {
                    Stop::Diverged(d) => d.reason(),
                    Stop::Until(n) => format!("--until {n} reached"),
                };
                run.status = ReplayStatus::Ended(format!("replay ended at {}: {why}", query.id));
            }
            if held || until {
                let mut q = PendingQuery::new(query, QueryStatus::ForYou, now_ms);
                if let Some(text) = draft {
                    q.set_editor_text(&text);
                    q.show_from_start();
                    q.draft = Some(Answer::new(text, AnswerOrigin::Replay));
                    q.note =
                        Some("the recorded answer is the draft: send it as is, or edit it".into());
                }
                q
            } else {
                modes::route(app, query, now_ms, fx)
            }
        }
    }
}

/// The run finished: a replay that never stopped is complete, unless the run took
/// another path and left recorded queries unasked.
pub(super) fn finished(app: &mut App) {
    if let Some(run) = app.replay.run.as_mut() {
        if run.status == ReplayStatus::Replaying {
            let unasked = run.cursor.unasked().len();
            run.status = match unasked {
                0 => ReplayStatus::Complete,
                n => ReplayStatus::Ended(format!(
                    "replay ended: {n} recorded quer{} never asked",
                    if n == 1 { "y was" } else { "ies were" }
                )),
            };
        }
    }
}

/// `R`: reads the last run's transcript, then replays it (see [`transcript_read`]).
pub(super) fn replay_edited(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(path) = app.replay.transcript.clone() else {
        let run = app.keymap.hint(Action::Run).unwrap_or_else(|| "r".into());
        app.message = Some(format!(
            "no transcript of a last run to replay: {run} runs the script afresh"
        ));
        return;
    };
    if app.is_running() {
        fx.push(Effect::Cancel);
    }
    app.message = Some(format!("reading {}…", path.display()));
    fx.push(Effect::ReadTranscript {
        path,
        purpose: ReadPurpose::EditReplay,
    });
}

/// `w` in the Trace pane on a query or its answer: re-runs with it waiting for the person.
pub(super) fn what_if(app: &mut App, fx: &mut Vec<Effect>) {
    let entry = app.trace.cursor().and_then(|i| app.trace.get(i));
    // Heads are `llm q-2` (a query) and `q-2 you` (its answer).
    let id = entry.and_then(|e| match e.kind {
        TraceKind::Query => e.head.strip_prefix("llm ").map(str::to_string),
        TraceKind::Answer => e.head.split_whitespace().next().map(str::to_string),
        _ => None,
    });
    let Some(id) = id else {
        app.message = Some("what-if: select a query or its answer in the trace first".into());
        return;
    };
    let Some(path) = app.replay.transcript.clone() else {
        app.message = Some("what-if needs this run's transcript, and it has none".into());
        return;
    };
    if app.is_running() {
        fx.push(Effect::Cancel);
    }
    app.message = Some(format!("what-if at {id}: reading {}…", path.display()));
    fx.push(Effect::ReadTranscript {
        path,
        purpose: ReadPurpose::WhatIf(id),
    });
}

/// A transcript was read (or not) for `R` or `w`: start the run it asks for.
pub(super) fn transcript_read(
    app: &mut App,
    purpose: ReadPurpose,
    result: Result<Arc<Recording>, String>,
    fx: &mut Vec<Effect>,
) {
    let recording = match result {
        Ok(r) => r,
        Err(e) => {
            app.message = Some(format!("cannot replay: {e}"));
            return;
        }
    };
    let mut start = ReplayStart::new(recording.clone());
    match purpose {
        ReadPurpose::EditReplay => {}
        ReadPurpose::WhatIf(id) => {
            let Some(q) = recording.queries.iter().find(|q| q.query.id == id) else {
                app.message = Some(format!(
                    "what-if: {id} is not in {} (it was never recorded)",
                    recording.path.display()
                ));
                return;
            };
            start.hold = Some(q.position);
            start.branch_at = Some(id);
        }
    }
    super::update::start_replay(app, start, fx);
}
