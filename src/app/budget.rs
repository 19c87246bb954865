//! Budget pane state: the limits from `ctx.budget`, a live [`Metrics`] kept from the
//! events (replaced by the engine's final metrics on `Finished`), the person's thinking
//! time kept apart, the `alc.progress` gauge and `alc.stats` values. No I/O.

use serde_json::Value;

use crate::engine::{Answer, Metrics, Query, Usage};
use crate::provider::{cost_usd, Prices};

/// Limits from `ctx.budget`; any subset may be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_llm_calls: Option<u64>,
    pub max_elapsed_ms: Option<u64>,
    pub max_tokens: Option<u64>,
}

impl Budget {
    /// Reads `ctx.budget`; missing or non-numeric fields mean "no limit".
    pub fn from_ctx(ctx: &Value) -> Self {
        let field = |name: &str| ctx.get("budget")?.get(name)?.as_u64();
        Budget {
            max_llm_calls: field("max_llm_calls"),
            max_elapsed_ms: field("max_elapsed_ms"),
            max_tokens: field("max_tokens"),
        }
    }
}

/// Estimated tokens of a text when no source reports usage: one token per four chars.
/// Kept behind this one function so the engine's estimator can replace it.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// `alc.progress` as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub step: i64,
    pub total: i64,
    pub msg: Option<String>,
}

/// What the Budget pane shows.
#[derive(Debug, Default, Clone)]
pub struct BudgetPane {
    pub budget: Budget,
    pub metrics: Metrics,
    pub progress: Option<Progress>,
    /// `alc.stats` values in first-seen order.
    pub stats: Vec<(String, Value)>,
    /// Session time (ms) since which the person has been thinking, if they are.
    person_since: Option<u64>,
    /// True once the engine's final metrics arrived; live updates stop.
    pub is_final: bool,
    /// The provider's prices, when the config gives them: then a cost is shown.
    pub prices: Option<Prices>,
}

impl BudgetPane {
    pub fn with_prices(prices: Option<Prices>) -> Self {
        BudgetPane {
            prices,
            ..Default::default()
        }
    }

    /// A fresh pane for a new run; the prices stay (they belong to the provider).
    pub fn reset(&mut self, budget: Budget) {
        *self = BudgetPane {
            budget,
            prices: self.prices,
            ..Default::default()
        };
    }

    /// Money spent so far, from the token counts; `None` without prices.
    pub fn cost_usd(&self) -> Option<f64> {
        let usage = Usage {
            prompt_tokens: self.metrics.prompt_tokens,
            completion_tokens: self.metrics.completion_tokens,
        };
        cost_usd(self.prices.as_ref(), &usage)
    }

    /// Counts one answered call: usage when reported, else estimated from the texts.
    pub fn answered(&mut self, query: Option<&Query>, answer: &Answer) {
        if self.is_final {
            return;
        }
        let m = &mut self.metrics;
        m.llm_calls += 1;
        match answer.usage {
            Some(u) => {
                m.prompt_tokens += u.prompt_tokens;
                m.completion_tokens += u.completion_tokens;
            }
            None => {
                if let Some(q) = query {
                    m.prompt_tokens +=
                        estimate_tokens(&q.prompt) + q.system.as_deref().map_or(0, estimate_tokens);
                }
                m.completion_tokens += estimate_tokens(&answer.text);
                m.estimated_calls += 1;
            }
        }
    }

    pub fn failed_call(&mut self) {
        if !self.is_final {
            self.metrics.failed_calls += 1;
        }
    }

    pub fn stat(&mut self, key: &str, value: Value) {
        match self.stats.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => self.stats.push((key.to_string(), value.clone())),
        }
        if !self.is_final {
            self.metrics.stats.insert(key.to_string(), value);
        }
    }

    /// Advances the clocks to session time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) {
        if self.is_final || now_ms < self.metrics.wall_ms {
            return;
        }
        self.metrics.wall_ms = now_ms;
        self.metrics.elapsed_ms = now_ms.saturating_sub(self.person_ms(now_ms));
    }

    /// The person's thinking time so far, including a wait still going on.
    pub fn person_ms(&self, now_ms: u64) -> u64 {
        self.metrics.human_ms + self.person_since.map_or(0, |s| now_ms.saturating_sub(s))
    }

    /// Starts or stops the person's clock at session time `now_ms`.
    pub fn person_waiting(&mut self, waiting: bool, now_ms: u64) {
        match (waiting, self.person_since) {
            (true, None) => self.person_since = Some(now_ms),
            (false, Some(since)) => {
                self.metrics.human_ms += now_ms.saturating_sub(since);
                self.person_since = None;
            }
            _ => {}
        }
        self.tick(now_ms);
    }

    /// The engine's final metrics replace the live ones.
    pub fn finish(&mut self, metrics: Metrics) {
        self.person_since = None;
        for (k, v) in &metrics.stats {
            if !self.stats.iter().any(|(key, _)| key == k) {
                self.stats.push((k.clone(), v.clone()));
            }
        }
        self.metrics = metrics;
        self.is_final = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::AnswerOrigin;

    #[test]
    fn cost_needs_prices_and_survives_a_rerun() {
        let mut pane = BudgetPane::default();
        pane.metrics.prompt_tokens = 1_000_000;
        pane.metrics.completion_tokens = 500_000;
        assert_eq!(pane.cost_usd(), None, "no prices, no money");
        let mut pane = BudgetPane::with_prices(Some(Prices {
            prompt_per_mtok: 3.0,
            completion_per_mtok: 15.0,
        }));
        pane.metrics.prompt_tokens = 1_000_000;
        pane.metrics.completion_tokens = 500_000;
        assert!((pane.cost_usd().unwrap() - 10.5).abs() < 1e-9);
        pane.reset(Budget::default());
        assert_eq!(
            pane.cost_usd(),
            Some(0.0),
            "a re-run starts at zero, prices kept"
        );
    }

    fn query(prompt: &str) -> Query {
        Query {
            id: "q-1".into(),
            prompt: prompt.into(),
            system: None,
            max_tokens: 100,
            grounded: false,
            underspecified: false,
            site: None,
            batch: None,
            fork: None,
        }
    }

    #[test]
    fn budget_reads_any_subset() {
        let b = Budget::from_ctx(&serde_json::json!({"budget": {"max_llm_calls": 3}}));
        assert_eq!(b.max_llm_calls, Some(3));
        assert_eq!(b.max_tokens, None);
        assert_eq!(Budget::from_ctx(&Value::Null), Budget::default());
    }

    #[test]
    fn tokens_from_usage_or_estimate() {
        let mut p = BudgetPane::default();
        p.answered(
            Some(&query("12345678")),
            &Answer::new("abcd", AnswerOrigin::Human),
        );
        assert_eq!(
            (p.metrics.prompt_tokens, p.metrics.completion_tokens),
            (2, 1)
        );
        assert_eq!(p.metrics.token_basis(), "estimated");
        let mut a = Answer::new("x", AnswerOrigin::Provider);
        a.usage = Some(Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
        });
        let mut p = BudgetPane::default();
        p.answered(None, &a);
        assert_eq!(p.metrics.tokens(), 15);
        assert_eq!(p.metrics.token_basis(), "provided");
    }

    #[test]
    fn person_time_is_not_charged() {
        let mut p = BudgetPane::default();
        p.tick(1_000);
        p.person_waiting(true, 1_000);
        p.tick(5_000);
        assert_eq!(p.metrics.elapsed_ms, 1_000);
        assert_eq!(p.person_ms(5_000), 4_000);
        p.person_waiting(false, 6_000);
        p.tick(7_000);
        assert_eq!(p.metrics.human_ms, 5_000);
        assert_eq!(p.metrics.elapsed_ms, 2_000);
    }
}
