//! Prices and cost, next to the token [`Usage`] they are charged on. Plain data: a
//! provider's config fills [`Prices`] in, the Budget pane and `run`'s summary turn
//! usage into money with [`cost_usd`]. Touches nothing.

use serde::Deserialize;

use super::Usage;

/// USD per million tokens, from `[providers.NAME.prices]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    #[serde(default)]
    pub prompt_per_mtok: f64,
    #[serde(default)]
    pub completion_per_mtok: f64,
}

/// The cost of `usage` in USD, or `None` without prices (then no money is shown).
pub fn cost_usd(prices: Option<&Prices>, usage: &Usage) -> Option<f64> {
    let prices = prices?;
    let per_token = |price_per_mtok: f64, tokens: u64| price_per_mtok * tokens as f64 / 1e6;
    Some(
        per_token(prices.prompt_per_mtok, usage.prompt_tokens)
            + per_token(prices.completion_per_mtok, usage.completion_tokens),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_needs_prices() {
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 500_000,
        };
        assert_eq!(cost_usd(None, &usage), None);
        let prices = Prices {
            prompt_per_mtok: 0.15,
            completion_per_mtok: 0.6,
        };
        let cost = cost_usd(Some(&prices), &usage).unwrap();
        assert!((cost - 0.45).abs() < 1e-12, "{cost}");
    }
}
