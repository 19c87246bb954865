//! Draws the Budget pane: one-line gauges for calls, time (the person's time shown
//! apart, not charged) and tokens against the engine's budget, the progress gauge, and
//! `alc.stats` values. A gauge at its limit (spent: no further call may start) or
//! past it (a batch ended over) takes the `gauge_over` style; past it the text also
//! says "over budget". Every figure is the engine's (see `app/budget.rs`).

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clip, View};
use crate::app::budget::LimitUse;
use crate::app::Focus;

const LABEL: usize = 9;

/// `1234` → `1.2k`.
pub(crate) fn short(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.1}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

fn secs(ms: u64) -> String {
    if ms >= 60_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// One gauge row: label, a bar of `used/max` (none when there is no limit), text after.
fn gauge(
    label: &str,
    limit: LimitUse,
    text: String,
    style: Style,
    over: Style,
    width: usize,
) -> Line<'static> {
    // One width for every row so the bars line up; the text after may be clipped.
    let bar_width = (width.saturating_sub(LABEL) / 2).min(20);
    let spent = limit.is_spent();
    let mut spans = vec![Span::raw(format!("{label:<LABEL$}"))];
    if let Some(max) = limit.max {
        if bar_width >= 4 {
            let r = if max == 0 {
                1.0
            } else {
                limit.used as f64 / max as f64
            };
            let filled = (r.clamp(0.0, 1.0) * bar_width as f64).round() as usize;
            let bar_style = if spent { over } else { style };
            spans.push(Span::styled("█".repeat(filled), bar_style));
            spans.push(Span::styled("░".repeat(bar_width - filled), style));
            spans.push(Span::raw("  "));
        }
    }
    let mut text = text;
    if limit.is_over() {
        text.push_str("  over budget");
    }
    spans.push(Span::styled(
        text,
        if spent { over } else { Style::default() },
    ));
    Line::from(spans)
}

/// A gauge with no limit (progress).
fn plain_gauge(
    label: &str,
    ratio: Option<f64>,
    text: String,
    style: Style,
    width: usize,
) -> Line<'static> {
    let bar_width = (width.saturating_sub(LABEL) / 2).min(20);
    let mut spans = vec![Span::raw(format!("{label:<LABEL$}"))];
    if let (Some(r), true) = (ratio, bar_width >= 4) {
        let filled = (r.clamp(0.0, 1.0) * bar_width as f64).round() as usize;
        spans.push(Span::styled("█".repeat(filled), style));
        spans.push(Span::styled("░".repeat(bar_width - filled), style));
        spans.push(Span::raw("  "));
    }
    spans.push(Span::raw(text));
    Line::from(spans)
}

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let b = &view.app.budget;
    let s = &view.theme.slots;
    let m = &b.metrics;
    let block = view.pane_block(Focus::Budget, vec![view.title("Budget")]);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let of = |used: String, max: Option<String>| match max {
        Some(max) => format!("{used}/{max}"),
        None => used,
    };
    let [calls_use, time_use, tokens_use] = b.budget.uses(m);

    let mut calls = of(
        m.llm_calls.to_string(),
        b.budget.max_llm_calls.map(|n| n.to_string()),
    );
    if b.budget.strict {
        calls.push_str(" strict");
    }
    if m.failed_calls > 0 {
        calls.push_str(&format!("  {} failed", m.failed_calls));
    }
    let time = format!(
        "{}  you {}",
        of(secs(m.elapsed_ms), b.budget.max_elapsed_ms.map(secs)),
        secs(m.human_ms)
    );
    let mut tokens = format!(
        "{} {}",
        of(short(m.tokens()), b.budget.max_tokens.map(short)),
        m.token_basis()
    );
    if let Some(cost) = b.cost_usd() {
        tokens.push_str(&format!("  ${cost:.4}"));
    }
    let mut rows = vec![
        gauge("calls", calls_use, calls, s.gauge_calls, s.gauge_over, w),
        gauge("time", time_use, time, s.gauge_time, s.gauge_over, w),
        gauge(
            "tokens",
            tokens_use,
            tokens,
            s.gauge_tokens,
            s.gauge_over,
            w,
        ),
    ];
    rows.push(match &b.progress {
        Some(p) => {
            let r = (p.total > 0).then(|| p.step as f64 / p.total as f64);
            let text = match &p.msg {
                Some(msg) => format!("{}/{} {msg}", p.step, p.total),
                None => format!("{}/{}", p.step, p.total),
            };
            plain_gauge("progress", r, text, s.gauge_progress, w)
        }
        None => Line::from(vec![
            Span::raw(format!("{:<LABEL$}", "progress")),
            view.dim("-"),
        ]),
    });
    let stats = b
        .stats
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("  ");
    rows.push(Line::from(vec![
        Span::raw(format!("{:<LABEL$}", "stats")),
        if stats.is_empty() {
            view.dim("-")
        } else {
            Span::raw(clip(&stats, w.saturating_sub(LABEL)))
        },
    ]));
    frame.render_widget(Paragraph::new(rows), inner);
}
