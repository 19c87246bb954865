//! What `replay` says about a run measured against its recording: the line when the
//! live source takes over, and a check's verdict (the first divergence with a unified
//! diff of the recorded and the new text, or a result that differs from the recorded
//! `end`). Pure text from the engine's replay types (engine/replay*.rs); cli/replay.rs
//! prints it.

use crate::answer::describe_query;
use crate::engine::replay::{
    unified_diff, Divergence, Mismatch, QueryField, RecordedEnd, Recording, ReplayCursor, Stop,
};
use crate::engine::{Outcome, Query};

/// Lines of a unified diff shown at a divergence.
const DIFF_LINES: usize = 40;

/// What a non-check replay says when the live source takes over.
pub(super) fn handover_line(stop: &Stop, live: Option<&str>) -> String {
    let live = live.unwrap_or("the answer source");
    match stop {
        Stop::Diverged(d) => format!(
            "replay ended at {}: {}; {live} answers from here",
            d.place(),
            d.reason()
        ),
        Stop::Until(n) => {
            format!("replayed up to query {n} (--until {n}); {live} answers from here")
        }
    }
}

/// `diverged at q-K (query K): why`, then the recorded and the new text as a diff.
pub(super) fn divergence_text(d: &Divergence) -> Vec<String> {
    let mut lines = vec![format!("diverged at {}: {}", d.place(), d.reason())];
    let Some(rec) = &d.recorded else {
        lines.push(format!("new query: {}", describe_query(&d.query)));
        lines.extend(unified_diff(
            "",
            &d.query.prompt,
            "recorded (none)",
            "new prompt",
            2,
            DIFF_LINES,
        ));
        return lines;
    };
    let (old, new) = (&rec.query, &d.query);
    let mut fields = match &d.mismatch {
        Mismatch::Changed(f) => f.clone(),
        _ => Vec::new(),
    };
    if fields.is_empty() {
        lines.push(format!("recorded query: {}", describe_query(old)));
    }
    fields.retain(|f| !matches!(f, QueryField::Prompt | QueryField::System));
    for field in fields {
        let show = |q: &Query| match field {
            QueryField::MaxTokens => q.max_tokens.to_string(),
            QueryField::Grounded => q.grounded.to_string(),
            QueryField::Underspecified => q.underspecified.to_string(),
            _ => q
                .batch
                .map_or("none".into(), |b| format!("{} of {}", b.index + 1, b.size)),
        };
        lines.push(format!(
            "{}: recorded {}, new {}",
            field.label(),
            show(old),
            show(new)
        ));
    }
    let label = |what: &str, who: &str| format!("{who} {} {what}", rec.query.id);
    lines.extend(unified_diff(
        old.system.as_deref().unwrap_or(""),
        new.system.as_deref().unwrap_or(""),
        &label("system", "recorded"),
        &label("system", "new"),
        2,
        DIFF_LINES,
    ));
    lines.extend(unified_diff(
        &old.prompt,
        &new.prompt,
        &label("prompt", "recorded"),
        &label("prompt", "new"),
        2,
        DIFF_LINES,
    ));
    lines
}

/// After a run that never diverged: every recorded query asked, and the same end.
pub(super) fn check_end(
    cursor: &ReplayCursor,
    rec: &Recording,
    outcome: &Outcome,
) -> Result<(), Vec<String>> {
    let unasked = cursor.unasked();
    if let Some(first) = unasked.first() {
        let mut lines = vec![format!(
            "diverged at the result: the new run finished without asking {} recorded quer{} \
             (first: {} (query {}))",
            unasked.len(),
            if unasked.len() == 1 { "y" } else { "ies" },
            first.query.id,
            first.position
        )];
        for fork in cursor.silent_forks() {
            lines.push(format!(
                "fork child {fork} asked nothing in this run (it no longer exists or is no \
                 longer forked)"
            ));
        }
        return Err(lines);
    }
    let Some(end) = &rec.end else {
        return Err(vec![
            "diverged at the result: the recording has no `end` line (the recorded run was \
             cut off), so there is no result to compare"
                .into(),
        ]);
    };
    let new = RecordedEnd {
        status: outcome.status,
        result: outcome.result.clone(),
        error: outcome.error.as_ref().map(|e| e.message.clone()),
    };
    if &new == end {
        return Ok(());
    }
    let text = |e: &RecordedEnd| {
        let v =
            serde_json::json!({"status": e.status.label(), "result": e.result, "error": e.error});
        serde_json::to_string_pretty(&v).unwrap_or_default()
    };
    let mut lines = vec!["diverged at the result".to_string()];
    lines.extend(unified_diff(
        &text(end),
        &text(&new),
        "recorded result",
        "new result",
        3,
        DIFF_LINES,
    ));
    Err(lines)
}
