//! Comparing runs: two transcripts query by query (what the diff overlay draws), and a
//! short unified diff of two texts (what `replay` prints at a divergence).
//!
//! Queries are paired the way a replay matches them: per stream (main, or one fork
//! child), by the stream's own order. Pure functions over [`Recording`]s.

use super::{changed_fields, RecordedQuery, Recording, StreamKey};
use std::collections::HashMap;

/// What happened to one query between the old run (`left`) and the new one (`right`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Same question, same answer.
    Same,
    /// Same question, another answer (or one answered and the other not).
    AnswerChanged,
    /// The question itself differs (prompt, system, max_tokens, flags or batch).
    PromptChanged,
    /// Only the new run asked it.
    New,
    /// Only the old run asked it.
    Gone,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Same => "same",
            Change::AnswerChanged => "answer changed",
            Change::PromptChanged => "prompt changed",
            Change::New => "new",
            Change::Gone => "gone",
        }
    }
}

/// One row of the comparison: indices into each recording's `queries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDiff {
    pub fork: StreamKey,
    /// 1-based order within the stream.
    pub order: usize,
    pub left: Option<usize>,
    pub right: Option<usize>,
    pub change: Change,
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingDiff {
    /// In the new run's order, each gone query placed after the row of the old
    /// query before it.
    pub queries: Vec<QueryDiff>,
    /// Both ended with the same status, result and error message.
    pub result_same: bool,
}

impl RecordingDiff {
    /// How many rows have each change, in [`Change`] order.
    pub fn counts(&self) -> [(Change, usize); 5] {
        let n = |c| self.queries.iter().filter(|q| q.change == c).count();
        [
            (Change::Same, n(Change::Same)),
            (Change::AnswerChanged, n(Change::AnswerChanged)),
            (Change::PromptChanged, n(Change::PromptChanged)),
            (Change::New, n(Change::New)),
            (Change::Gone, n(Change::Gone)),
        ]
    }
}

fn streams(r: &Recording) -> HashMap<StreamKey, Vec<usize>> {
    let mut map: HashMap<StreamKey, Vec<usize>> = HashMap::new();
    for (i, q) in r.queries.iter().enumerate() {
        map.entry(q.query.fork.clone()).or_default().push(i);
    }
    map
}

fn change_of(left: &RecordedQuery, right: &RecordedQuery) -> Change {
    if !changed_fields(&left.query, &right.query).is_empty() {
        Change::PromptChanged
    } else if left.reply == right.reply
        || left.reply.as_ref().map(|r| r.text()) == right.reply.as_ref().map(|r| r.text())
    {
        Change::Same
    } else {
        Change::AnswerChanged
    }
}

/// Compares the old run `left` with the new run `right`.
pub fn diff(left: &Recording, right: &Recording) -> RecordingDiff {
    let left_streams = streams(left);
    let mut rows = Vec::new();
    let mut left_used = vec![false; left.queries.len()];
    for (ri, rq) in right.queries.iter().enumerate() {
        let li = left_streams
            .get(&rq.query.fork)
            .and_then(|v| v.get(rq.order - 1))
            .copied();
        let change = match li {
            Some(li) => {
                left_used[li] = true;
                change_of(&left.queries[li], rq)
            }
            None => Change::New,
        };
        rows.push(QueryDiff {
            fork: rq.query.fork.clone(),
            order: rq.order,
            left: li,
            right: Some(ri),
            change,
        });
    }
    for (li, lq) in left.queries.iter().enumerate() {
        if left_used[li] {
            continue;
        }
        // After the row holding the latest old query before this one.
        let at = rows
            .iter()
            .rposition(|row| row.left.is_some_and(|l| l < li))
            .map_or(0, |p| p + 1);
        rows.insert(
            at,
            QueryDiff {
                fork: lq.query.fork.clone(),
                order: lq.order,
                left: Some(li),
                right: None,
                change: Change::Gone,
            },
        );
    }
    let result_same = match (&left.end, &right.end) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    RecordingDiff {
        queries: rows,
        result_same,
    }
}

/// Most diff lines [`unified_diff`] compares exactly; beyond this (after trimming the
/// common head and tail) it shows the old block then the new one.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A short unified diff of two texts by line: `--- old_label` / `+++ new_label`, then
/// hunks with `context` lines around each change, at most `max_lines` lines in all
/// (`…` marks a cut). Empty when the texts are equal.
pub fn unified_diff(
    old: &str,
    new: &str,
    old_label: &str,
    new_label: &str,
    context: usize,
    max_lines: usize,
) -> Vec<String> {
    if old == new {
        return Vec::new();
    }
    let a: Vec<&str> = old.split('\n').collect();
    let b: Vec<&str> = new.split('\n').collect();
    let ops = line_ops(&a, &b);
    let mut out = vec![format!("--- {old_label}"), format!("+++ {new_label}")];
    // Indices of ops that change something; hunks are runs of them with context.
    let changed: Vec<usize> = (0..ops.len())
        .filter(|&i| !matches!(ops[i], Op::Keep(..)))
        .collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(context);
        let mut end = changed[i];
        while i + 1 < changed.len() && changed[i + 1] <= end + 2 * context + 1 {
            i += 1;
            end = changed[i];
        }
        let end = (end + context + 1).min(ops.len());
        let (a_start, b_start) = ops[start].starts();
        out.push(format!("@@ -{} +{} @@", a_start + 1, b_start + 1));
        for op in &ops[start..end] {
            out.push(match op {
                Op::Keep(x, _) => format!(" {}", a[*x]),
                Op::Del(x, _) => format!("-{}", a[*x]),
                Op::Add(_, y) => format!("+{}", b[*y]),
            });
        }
        i += 1;
    }
    if out.len() > max_lines {
        out.truncate(max_lines.max(3) - 1);
        out.push("…".into());
    }
    out
}

/// One line of an edit script, with the positions in both texts where it applies.
#[derive(Debug, Clone, Copy)]
enum Op {
    Keep(usize, usize),
    Del(usize, usize),
    Add(usize, usize),
}

impl Op {
    fn starts(self) -> (usize, usize) {
        match self {
            Op::Keep(x, y) | Op::Del(x, y) | Op::Add(x, y) => (x, y),
        }
    }
}

/// A shortest edit script between line lists: common head and tail kept, the middle
/// by longest common subsequence (or, when too large for that, deleted then added).
fn line_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops: Vec<Op> = (0..head).map(|i| Op::Keep(i, i)).collect();
    if am.len().saturating_mul(bm.len()) > MAX_DIFF_CELLS {
        ops.extend((0..am.len()).map(|i| Op::Del(head + i, head)));
        ops.extend((0..bm.len()).map(|j| Op::Add(head + am.len(), head + j)));
    } else {
        // lcs[i][j]: length of the LCS of am[i..] and bm[j..].
        let w = bm.len() + 1;
        let mut lcs = vec![0u32; (am.len() + 1) * w];
        for i in (0..am.len()).rev() {
            for j in (0..bm.len()).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < am.len() || j < bm.len() {
            if i < am.len() && j < bm.len() && am[i] == bm[j] {
                ops.push(Op::Keep(head + i, head + j));
                i += 1;
                j += 1;
            } else if i < am.len() && (j == bm.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
            {
                ops.push(Op::Del(head + i, head + j));
                i += 1;
            } else {
                ops.push(Op::Add(head + i, head + j));
                j += 1;
            }
        }
    }
    let (a_end, b_end) = (a.len() - tail, b.len() - tail);
    ops.extend((0..tail).map(|k| Op::Keep(a_end + k, b_end + k)));
    ops
}
