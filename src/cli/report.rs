//! What a headless session leaves on the terminal, shared by `run` and `replay`: the
//! result on stdout (pretty or one line), the error with its site and traceback, and
//! one summary line on stderr (status, calls, tokens, time, over-budget notes, the
//! person's time and the cost when prices are known). Prints only; decides the exit
//! code from the outcome's status.

use super::{EXIT_OK, EXIT_STRATEGY};
use crate::engine::{Budget, Metrics, Outcome, Status, Usage};
use crate::provider::{cost_usd, Prices};

/// How the end is printed: `--compact` and `-q`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReportStyle {
    pub compact: bool,
    pub quiet: bool,
}

/// Prints the result (stdout) and the summary (stderr); returns the exit code.
pub(super) fn report(
    outcome: &Outcome,
    budget: &Budget,
    style: ReportStyle,
    prices: Option<&Prices>,
) -> u8 {
    print_result(outcome, style.compact);
    if let Some(err) = &outcome.error {
        match &err.site {
            Some(site) if !err.message.starts_with(&site.to_string()) => {
                eprintln!("error: {site}: {}", err.message)
            }
            _ => eprintln!("error: {}", err.message),
        }
        if let (Some(tb), false) = (&err.traceback, style.quiet) {
            eprintln!("{tb}");
        }
    }
    if !style.quiet {
        let m = &outcome.metrics;
        let usage = Usage {
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
        };
        let mut line = summary(outcome.status, m, budget);
        // Money only with prices in the config; "~" when any tokens were estimated.
        if let Some(cost) = cost_usd(prices, &usage) {
            let approx = if m.token_basis() == "estimated" {
                "~"
            } else {
                ""
            };
            line.push_str(&format!(" · {approx}${cost:.4}"));
        }
        eprintln!("{line}");
    }
    match outcome.status {
        Status::Completed => EXIT_OK,
        Status::Failed | Status::Cancelled => EXIT_STRATEGY,
    }
}

/// The result on stdout, pretty or as one line of JSON.
pub(super) fn print_result(outcome: &Outcome, compact: bool) {
    if let Some(result) = &outcome.result {
        let text = if compact {
            serde_json::to_string(result)
        } else {
            serde_json::to_string_pretty(result)
        };
        println!("{}", text.unwrap_or_else(|_| "null".into()));
    }
}

/// One line: status, calls, tokens, time, each as the engine counted it. A figure at
/// or under its limit is shown plain; one past it (a batch that started under budget
/// and ended over, as algocline allows) says so: `5 calls (over budget: max 2)`.
pub fn summary(status: Status, m: &Metrics, budget: &Budget) -> String {
    let [calls, time, tokens] = budget.uses(m);
    let over = |is_over: bool, max: String| {
        if is_over {
            format!("over budget: max {max}")
        } else {
            String::new()
        }
    };
    let calls_note = over(calls.is_over(), calls.max.unwrap_or_default().to_string());
    let tokens_note = over(
        tokens.is_over(),
        human_count(tokens.max.unwrap_or_default()),
    );
    let time_note = over(
        time.is_over(),
        format!("{:.2} s", time.max.unwrap_or_default() as f64 / 1000.0),
    );
    let paren = |note: String| {
        if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        }
    };
    let person = if m.human_ms > 0 {
        format!(" (+{:.1} s yours)", m.human_ms as f64 / 1000.0)
    } else {
        String::new()
    };
    let tokens_basis = if tokens_note.is_empty() {
        m.token_basis().to_string()
    } else {
        format!("{}, {tokens_note}", m.token_basis())
    };
    format!(
        "{} · {} call{}{} · {} tokens ({tokens_basis}) · {:.2} s{}{person}",
        status.label(),
        m.llm_calls,
        if m.llm_calls == 1 { "" } else { "s" },
        paren(calls_note),
        human_count(m.tokens()),
        m.elapsed_ms as f64 / 1000.0,
        paren(time_note),
    )
}

fn human_count(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(calls: Option<u64>, ms: Option<u64>, tokens: Option<u64>) -> Budget {
        Budget {
            max_llm_calls: calls,
            max_elapsed_ms: ms,
            max_tokens: tokens,
            strict: false,
        }
    }

    #[test]
    fn the_summary_says_over_budget_only_past_a_limit() {
        let m = Metrics {
            llm_calls: 5,
            estimated_calls: 5,
            prompt_tokens: 1200,
            wall_ms: 2500,
            elapsed_ms: 2500,
            ..Metrics::default()
        };
        let line = summary(Status::Completed, &m, &budget(Some(2), None, None));
        assert_eq!(
            line,
            "completed · 5 calls (over budget: max 2) · 1200 tokens (estimated) · 2.50 s"
        );
        let line = summary(
            Status::Completed,
            &m,
            &budget(Some(5), Some(1500), Some(1000)),
        );
        assert_eq!(
            line,
            "completed · 5 calls · 1200 tokens (estimated, over budget: max 1000) · 2.50 s \
             (over budget: max 1.50 s)"
        );
        let line = summary(Status::Completed, &m, &Budget::default());
        assert!(!line.contains("over budget"), "{line}");
    }
}
