//! Draws the Budget pane: one-line gauges for calls, time (the person's thinking time
//! shown apart, not charged) and tokens against `ctx.budget`, the progress gauge, and
//! `alc.stats` values.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clip, View};
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

/// One gauge row: label, a bar of `ratio` (none when there is no limit), text after.
fn gauge(
    label: &str,
    ratio: Option<f64>,
    text: String,
    style: Style,
    over: Style,
    width: usize,
) -> Line<'static> {
    // One width for every row so the bars line up; the text after may be clipped.
    let bar_width = (width.saturating_sub(LABEL) / 2).min(20);
    let mut spans = vec![Span::raw(format!("{label:<LABEL$}"))];
    if let Some(r) = ratio {
        if bar_width >= 4 {
            let filled = ((r.clamp(0.0, 1.0)) * bar_width as f64).round() as usize;
            let bar_style = if r > 1.0 { over } else { style };
            spans.push(Span::styled("█".repeat(filled), bar_style));
            spans.push(Span::styled("░".repeat(bar_width - filled), style));
            spans.push(Span::raw("  "));
        }
    }
    let text_style = if ratio.is_some_and(|r| r > 1.0) {
        over
    } else {
        Style::default()
    };
    spans.push(Span::styled(text, text_style));
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
    let ratio =
        |used: u64, max: Option<u64>| max.filter(|&m| m > 0).map(|m| used as f64 / m as f64);
    let of = |used: String, max: Option<String>| match max {
        Some(max) => format!("{used}/{max}"),
        None => used,
    };

    let mut calls = of(
        m.llm_calls.to_string(),
        b.budget.max_llm_calls.map(|n| n.to_string()),
    );
    if m.failed_calls > 0 {
        calls.push_str(&format!("  {} failed", m.failed_calls));
    }
    let person = b.person_ms(view.app.session.clock_ms.max(m.wall_ms));
    let time = format!(
        "{}  you {}",
        of(secs(m.elapsed_ms), b.budget.max_elapsed_ms.map(secs)),
        secs(person)
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
        gauge(
            "calls",
            ratio(m.llm_calls, b.budget.max_llm_calls),
            calls,
            s.gauge_calls,
            s.gauge_over,
            w,
        ),
        gauge(
            "time",
            ratio(m.elapsed_ms, b.budget.max_elapsed_ms),
            time,
            s.gauge_time,
            s.gauge_over,
            w,
        ),
        gauge(
            "tokens",
            ratio(m.tokens(), b.budget.max_tokens),
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
            gauge("progress", r, text, s.gauge_progress, s.gauge_progress, w)
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
