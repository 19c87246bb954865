//! Budget pane state: the engine's figures, shown as they are. The limits are the
//! engine's [`Budget`] (read by the engine's own parser from the ctx the session
//! started with), the counts are the engine's [`Metrics`] as carried by every session
//! event and by each clock tick; nothing is counted or estimated here. Also the
//! `alc.progress` gauge and `alc.stats` values in first-seen order. No I/O.

use serde_json::Value;

pub use crate::engine::budget::LimitUse;
use crate::engine::pricing::{cost_usd, Prices};
pub use crate::engine::Budget;
use crate::engine::Metrics;

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
    /// The limits the engine enforces.
    pub budget: Budget,
    /// The engine's latest figures.
    pub metrics: Metrics,
    pub progress: Option<Progress>,
    /// `alc.stats` values in first-seen order.
    pub stats: Vec<(String, Value)>,
    /// True once the engine's final metrics arrived; later figures are ignored.
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

    /// The limits of a session from the ctx it runs with, read by the engine's parser
    /// (a ctx the engine refuses never starts, so no limits is right then).
    pub fn budget_of(ctx: &Value) -> Budget {
        Budget::from_ctx(ctx).unwrap_or_default()
    }

    /// Money spent so far, from the token counts; `None` without prices.
    pub fn cost_usd(&self) -> Option<f64> {
        cost_usd(self.prices.as_ref(), &self.metrics.usage())
    }

    /// The engine's figures at some moment (an event, a tick). Figures older than
    /// those shown (a tick polled before an event that came in first) are ignored.
    pub fn observe(&mut self, metrics: &Metrics) {
        if !self.is_final && metrics.wall_ms >= self.metrics.wall_ms {
            self.metrics = metrics.clone();
        }
    }

    pub fn stat(&mut self, key: &str, value: Value) {
        match self.stats.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.stats.push((key.to_string(), value)),
        }
    }

    /// The engine's final metrics replace the live ones.
    pub fn finish(&mut self, metrics: Metrics) {
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

    #[test]
    fn limits_come_from_the_engines_parser() {
        let b = BudgetPane::budget_of(&serde_json::json!({"budget": {"max_llm_calls": 10.0}}));
        assert_eq!(
            b.max_llm_calls,
            Some(10),
            "a float in JSON is still a limit"
        );
        let b = BudgetPane::budget_of(&serde_json::json!({"budget": {"strict": true}}));
        assert!(b.strict);
        assert_eq!(BudgetPane::budget_of(&Value::Null), Budget::default());
    }

    #[test]
    fn figures_are_the_engines_and_stop_at_the_final_ones() {
        let mut p = BudgetPane::default();
        let at = |wall_ms, llm_calls| Metrics {
            wall_ms,
            llm_calls,
            ..Metrics::default()
        };
        p.observe(&at(100, 1));
        assert_eq!(p.metrics.llm_calls, 1);
        p.observe(&at(50, 0));
        assert_eq!(p.metrics.llm_calls, 1, "an older snapshot never goes back");
        p.finish(at(200, 2));
        p.observe(&at(300, 7));
        assert_eq!(p.metrics.llm_calls, 2, "final metrics win");
    }
}
