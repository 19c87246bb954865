//! The diff overlay's state (`D`): two transcripts compared query by query (read and
//! compared by the runtime, off the loop task), the selected row, the row opened to
//! its texts (a unified diff), and the result shown side by side or as a JSON diff.
//! Pure.

use std::sync::Arc;

use super::super::{App, Effect, Overlay};
use crate::engine::replay::{unified_diff, Change, Recording, RecordingDiff};

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

/// `D`: compares this run's transcript with its parent (or the one it replayed).
pub(in crate::app) fn open_diff(app: &mut App, fx: &mut Vec<Effect>) {
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
pub(in crate::app) fn diff_ready(app: &mut App, result: Result<Arc<DiffData>, String>) {
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
pub(in crate::app) fn scroll_diff(diff: &mut DiffOverlay, delta: isize) {
    if diff.open.is_some() {
        diff.scroll = diff.scroll.saturating_add_signed(delta as i16);
    } else {
        let last = diff.rows().saturating_sub(1) as isize;
        diff.selected = (diff.selected as isize + delta).clamp(0, last) as usize;
    }
}

/// Enter in the diff overlay: opens the selected row's texts, or goes back to the rows.
pub(in crate::app) fn toggle_open(diff: &mut DiffOverlay) {
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
