//! Budgets (`ctx.budget`) and the session's live counters.
//!
//! The counters are shared by every VM of a session (fork children included) so a
//! child's calls count against the parent's budget. Time a person spends answering is
//! kept apart (`human_ms`) and never charged to `max_elapsed_ms`.

use std::time::Instant;

use serde_json::Value;

use super::error::EngineError;
use super::event::{Answer, Metrics};
use super::textops::estimate_tokens;

/// Limits from `ctx.budget`; any subset may be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_llm_calls: Option<u64>,
    pub max_elapsed_ms: Option<u64>,
    pub max_tokens: Option<u64>,
}

impl Budget {
    /// Reads `ctx.budget`; absent or null means no budget. Wrong types are an input
    /// error, so a typo never silently disables a limit.
    pub fn from_ctx(ctx: &Value) -> Result<Budget, EngineError> {
        let Some(b) = ctx.get("budget") else {
            return Ok(Budget::default());
        };
        if b.is_null() {
            return Ok(Budget::default());
        }
        let obj = b
            .as_object()
            .ok_or_else(|| EngineError::Budget("ctx.budget must be an object".into()))?;
        let field = |name: &str| -> Result<Option<u64>, EngineError> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                    .map(Some)
                    .ok_or_else(|| {
                        EngineError::Budget(format!(
                            "ctx.budget.{name} must be a non-negative number, got {v}"
                        ))
                    }),
            }
        };
        Ok(Budget {
            max_llm_calls: field("max_llm_calls")?,
            max_elapsed_ms: field("max_elapsed_ms")?,
            max_tokens: field("max_tokens")?,
        })
    }

    pub fn is_unlimited(&self) -> bool {
        self.max_llm_calls.is_none() && self.max_elapsed_ms.is_none() && self.max_tokens.is_none()
    }

    /// The first limit that is spent (used ≥ max), as the `budget_exceeded:` message.
    pub fn exceeded(&self, m: &Metrics) -> Option<String> {
        if let Some(max) = self.max_llm_calls {
            if m.llm_calls >= max {
                return Some(format!("budget_exceeded: llm_calls {}/{max}", m.llm_calls));
            }
        }
        if let Some(max) = self.max_elapsed_ms {
            if m.elapsed_ms >= max {
                return Some(format!(
                    "budget_exceeded: elapsed_ms {}/{max}",
                    m.elapsed_ms
                ));
            }
        }
        if let Some(max) = self.max_tokens {
            if m.tokens() >= max {
                return Some(format!("budget_exceeded: tokens {}/{max}", m.tokens()));
            }
        }
        None
    }

    /// Remaining capacity per limit, saturating at 0; `None` where unset.
    pub fn remaining(&self, m: &Metrics) -> [Option<u64>; 3] {
        [
            self.max_llm_calls.map(|x| x.saturating_sub(m.llm_calls)),
            self.max_elapsed_ms.map(|x| x.saturating_sub(m.elapsed_ms)),
            self.max_tokens.map(|x| x.saturating_sub(m.tokens())),
        ]
    }
}

/// Live counters of one session.
#[derive(Debug)]
pub struct Counters {
    start: Instant,
    metrics: Metrics,
    /// End of the last interval already counted as a person's time, so overlapping
    /// pauses (fork children) are never counted twice.
    human_until: Option<Instant>,
}

impl Counters {
    pub fn new(start: Instant) -> Self {
        Counters {
            start,
            metrics: Metrics::default(),
            human_until: None,
        }
    }

    /// A snapshot with the clocks brought up to now.
    pub fn snapshot(&self) -> Metrics {
        let mut m = self.metrics.clone();
        m.wall_ms = self.start.elapsed().as_millis() as u64;
        m.elapsed_ms = m.wall_ms.saturating_sub(m.human_ms);
        m
    }

    /// Counts one answered call: provider usage where reported, else estimates.
    pub fn record_answer(&mut self, prompt_estimate: u64, answer: &Answer) {
        self.metrics.llm_calls += 1;
        match answer.usage {
            Some(u) => {
                self.metrics.prompt_tokens += u.prompt_tokens;
                self.metrics.completion_tokens += u.completion_tokens;
            }
            None => {
                self.metrics.estimated_calls += 1;
                self.metrics.prompt_tokens += prompt_estimate;
                self.metrics.completion_tokens += estimate_tokens(&answer.text);
            }
        }
    }

    pub fn record_failure(&mut self) {
        self.metrics.failed_calls += 1;
    }

    /// Charges the interval `[from, to]` to the person, minus any part already counted.
    /// Intervals arrive in order of their end, so this keeps an exact union.
    pub fn record_person_wait(&mut self, from: Instant, to: Instant) {
        let from = match self.human_until {
            Some(until) if until > from => until,
            _ => from,
        };
        if to > from {
            self.metrics.human_ms += (to - from).as_millis() as u64;
        }
        if self.human_until.is_none_or(|u| to > u) {
            self.human_until = Some(to);
        }
    }

    pub fn record_stat(&mut self, key: String, value: Value) {
        self.metrics.stats.insert(key, value);
    }

    pub fn stat(&self, key: &str) -> Option<Value> {
        self.metrics.stats.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{AnswerOrigin, Usage};
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn budget_from_ctx_reads_any_subset() {
        let b = Budget::from_ctx(&json!({"budget": {"max_llm_calls": 3}})).unwrap();
        assert_eq!(b.max_llm_calls, Some(3));
        assert_eq!(b.max_tokens, None);
        assert!(Budget::from_ctx(&json!({})).unwrap().is_unlimited());
        assert!(Budget::from_ctx(&json!({"budget": null}))
            .unwrap()
            .is_unlimited());
    }

    #[test]
    fn budget_rejects_wrong_types() {
        let err = Budget::from_ctx(&json!({"budget": {"max_tokens": "lots"}})).unwrap_err();
        assert!(err.to_string().contains("max_tokens"), "{err}");
        assert!(Budget::from_ctx(&json!({"budget": 5})).is_err());
        assert!(Budget::from_ctx(&json!({"budget": {"max_llm_calls": -1}})).is_err());
    }

    #[test]
    fn exceeded_when_used_reaches_max() {
        let b = Budget {
            max_llm_calls: Some(2),
            ..Budget::default()
        };
        let mut m = Metrics::default();
        assert_eq!(b.exceeded(&m), None);
        m.llm_calls = 2;
        assert_eq!(b.exceeded(&m).unwrap(), "budget_exceeded: llm_calls 2/2");
    }

    #[test]
    fn remaining_saturates_at_zero() {
        let b = Budget {
            max_llm_calls: Some(2),
            max_elapsed_ms: None,
            max_tokens: Some(10),
        };
        let m = Metrics {
            llm_calls: 5,
            prompt_tokens: 4,
            ..Metrics::default()
        };
        assert_eq!(b.remaining(&m), [Some(0), None, Some(6)]);
    }

    #[test]
    fn provided_usage_replaces_the_estimate() {
        let mut c = Counters::new(Instant::now());
        let mut a = Answer::new("four chars", AnswerOrigin::Provider);
        a.usage = Some(Usage {
            prompt_tokens: 7,
            completion_tokens: 3,
        });
        c.record_answer(100, &a);
        let m = c.snapshot();
        assert_eq!((m.prompt_tokens, m.completion_tokens), (7, 3));
        assert_eq!(m.token_basis(), "provided");
        c.record_answer(5, &Answer::new("abcdefgh", AnswerOrigin::Script));
        let m = c.snapshot();
        assert_eq!(m.prompt_tokens, 12);
        assert_eq!(m.token_basis(), "estimated");
    }

    #[test]
    fn overlapping_person_waits_count_once() {
        let t0 = Instant::now();
        let mut c = Counters::new(t0);
        let s = |ms| t0 + Duration::from_millis(ms);
        c.record_person_wait(s(0), s(100));
        c.record_person_wait(s(50), s(150)); // overlaps by 50
        c.record_person_wait(s(300), s(400));
        assert_eq!(c.snapshot().human_ms, 250);
    }
}
