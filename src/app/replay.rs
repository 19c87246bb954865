//! Replay and time travel in the TUI, model side: the run being replayed (its cursor
//! and what the status bar says about it), edit-and-replay (`R`), what-if (`w` in the
//! Trace pane) and the diff overlay's state (`D`). Queries of a replayed run are
//! stepped through the engine's [`ReplayCursor`] here, in the order they arrive:
//! a replayed answer goes to the session at once (like a fast answer source, recorded
//! as `replay`); a query handed over goes to the current mode, or to the person with
//! the recorded answer as the draft (`--until`, what-if). Transcripts are read by the
//! runtime (`Effect::ReadTranscript`, `Effect::DiffTranscripts`), never here. Pure.

use std::path::PathBuf;
use std::sync::Arc;

use super::pending::{PendingQuery, QueryStatus};
use super::trace::TraceKind;
use super::{modes, Action, App, Effect, Overlay};
use crate::engine::replay::{
    unified_diff, Change, Recording, RecordingDiff, ReplayCursor, Reply, Step, Stop,
};
use crate::engine::{Answer, AnswerOrigin, Query, QueryId};

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

/// Two transcripts compared, for the diff overlay (computed off the loop task).
#[derive(Debug, Clone)]
pub struct DiffData {
    pub left: Arc<Recording>,
    pub right: Arc<Recording>,
    pub diff: RecordingDiff,
}

/// How the diff overlay shows the two results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultView {
    #[default]
    SideBySide,
    Json,
}

/// The diff overlay: one row per query and a last row for the result; enter opens a
/// row's texts.
#[derive(Debug, Clone)]
pub struct DiffOverlay {
    pub data: Arc<DiffData>,
    pub selected: usize,
    /// The row whose texts are shown, if one is open.
    pub open: Option<usize>,
    pub scroll: u16,
    pub result_view: ResultView,
}

impl DiffOverlay {
    /// Query rows plus the result row.
    pub fn rows(&self) -> usize {
        self.data.diff.queries.len() + 1
    }

    /// The label of query row `i`: `q-3 (fork child x)`.
    pub fn row_label(&self, i: usize) -> String {
        let Some(row) = self.data.diff.queries.get(i) else {
            return "result".into();
        };
        let q = row
            .right
            .map(|r| &self.data.right.queries[r])
            .or(row.left.map(|l| &self.data.left.queries[l]));
        let id = q.map_or_else(|| "?".to_string(), |q| q.query.id.clone());
        match &row.fork {
            Some(fork) => format!("{id} ({fork} #{})", row.order),
            None => id,
        }
    }

    /// The texts of the open row: a unified diff of prompts and answers for a query,
    /// the two results side by side (left, right) or as a JSON diff for the result.
    pub fn detail(&self, i: usize) -> Detail {
        let d = &self.data;
        let Some(row) = d.diff.queries.get(i) else {
            let end = |r: &Recording| {
                r.end.as_ref().map_or_else(
                    || "(no result recorded)".to_string(),
                    |e| {
                        serde_json::to_string_pretty(&serde_json::json!({
                            "status": e.status,
                            "result": e.result,
                            "error": e.error,
                        }))
                        .unwrap_or_default()
                    },
                )
            };
            let (old, new) = (end(&d.left), end(&d.right));
            return match self.result_view {
                ResultView::SideBySide => Detail::SideBySide(old, new),
                ResultView::Json => Detail::Lines(diff_or_same(
                    &old,
                    &new,
                    "parent result",
                    "this run's result",
                )),
            };
        };
        let left = row.left.map(|l| &d.left.queries[l]);
        let right = row.right.map(|r| &d.right.queries[r]);
        let prompt = |q: Option<&crate::engine::replay::RecordedQuery>| {
            q.map_or_else(String::new, |q| q.query.prompt.clone())
        };
        let answer = |q: Option<&crate::engine::replay::RecordedQuery>| {
            q.and_then(|q| q.reply.as_ref())
                .map_or_else(String::new, |r| r.text().to_string())
        };
        let mut lines = vec![format!("{}: {}", self.row_label(i), row.change.label())];
        lines.push(String::new());
        lines.push("prompt:".into());
        lines.extend(diff_or_same(
            &prompt(left),
            &prompt(right),
            "parent prompt",
            "this run's prompt",
        ));
        lines.push(String::new());
        lines.push("answer:".into());
        lines.extend(diff_or_same(
            &answer(left),
            &answer(right),
            "parent answer",
            "this run's answer",
        ));
        Detail::Lines(lines)
    }
}

/// A row's texts as the overlay shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Lines(Vec<String>),
    /// The parent's text and this run's.
    SideBySide(String, String),
}

/// A unified diff of the two texts, or the text once when they are the same.
fn diff_or_same(old: &str, new: &str, old_label: &str, new_label: &str) -> Vec<String> {
    if old == new {
        let mut lines = vec!["(same)".to_string()];
        lines.extend(old.split('\n').map(|l| format!("  {l}")));
        return lines;
    }
    unified_diff(old, new, old_label, new_label, 3, 400)
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

/// `D`: compares this run's transcript with its parent (or the one it replayed).
pub(super) fn open_diff(app: &mut App, fx: &mut Vec<Effect>) {
    let (Some(left), Some(right)) = (
        app.replay.compare_with.clone(),
        app.replay.transcript.clone(),
    ) else {
        app.message = Some(
            "nothing to compare: D compares a replayed or what-if run with the transcript it \
             came from"
                .into(),
        );
        return;
    };
    app.message = Some("comparing…".into());
    fx.push(Effect::DiffTranscripts { left, right });
}

/// The comparison came back.
pub(super) fn diff_ready(app: &mut App, result: Result<Arc<DiffData>, String>) {
    match result {
        Ok(data) => {
            app.message = None;
            app.overlay = Some(Overlay::Diff(Box::new(DiffOverlay {
                data,
                selected: 0,
                open: None,
                scroll: 0,
                result_view: ResultView::default(),
            })));
        }
        Err(e) => app.message = Some(format!("cannot compare: {e}")),
    }
}

/// Up/down in the diff overlay: moves the selection, or scrolls the open texts.
pub(super) fn scroll_diff(diff: &mut DiffOverlay, delta: isize) {
    if diff.open.is_some() {
        diff.scroll = diff.scroll.saturating_add_signed(delta as i16);
    } else {
        let last = diff.rows().saturating_sub(1) as isize;
        diff.selected = (diff.selected as isize + delta).clamp(0, last) as usize;
    }
}

/// Enter in the diff overlay: opens the selected row's texts, or goes back to the rows.
pub(super) fn toggle_open(diff: &mut DiffOverlay) {
    diff.open = match diff.open {
        Some(_) => None,
        None => Some(diff.selected),
    };
    diff.scroll = 0;
}

/// The count line: `3 same · 1 answer changed · …`.
pub fn counts_line(diff: &RecordingDiff) -> String {
    let mut parts: Vec<String> = diff
        .counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| format!("{n} {}", c.label()))
        .collect();
    parts.push(if diff.result_same {
        "result same".into()
    } else {
        "result changed".into()
    });
    parts.join(" · ")
}

/// Is this change one the overlay marks (anything but same)?
pub fn is_change(change: Change) -> bool {
    change != Change::Same
}
