//! Budgets (`ctx.budget`) and the session's live counters: the one place that decides
//! what a session has used and whether it may ask again.
//!
//! The counters are shared by every VM of a session (fork children included) so a
//! child's calls count against the parent's budget. Checks happen as algocline does
//! them: before each `alc.llm`, and once before each `llm_batch` pause (a batch that
//! starts under budget may end over it). Strict mode also refuses a pause whose size
//! would pass `max_llm_calls`, counting queries already asked but not yet answered.
//!
//! Person time has one definition: from the moment a query is ready for a person
//! (`Session::person_ready`: shown for typing, or a draft complete for review) until
//! that query is answered, failed or withdrawn. The union of those intervals is
//! `human_ms`, and it is never charged to `max_elapsed_ms`.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use super::error::EngineError;
use super::event::{Answer, Metrics, QueryId};
use super::textops::estimate_tokens;

/// Limits from `ctx.budget`; any subset may be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_llm_calls: Option<u64>,
    pub max_elapsed_ms: Option<u64>,
    pub max_tokens: Option<u64>,
    /// `ctx.budget.strict` (or `--budget-strict`): refuse a pause whose size would
    /// pass `max_llm_calls`, not only one that starts with the budget spent.
    pub strict: bool,
}

/// One limit as shown to people: what was used, the maximum, and whether it is spent
/// (used ≥ max: no further call may start) or over (used > max: a batch or a long
/// stretch of Lua ended past it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitUse {
    pub used: u64,
    pub max: Option<u64>,
}

impl LimitUse {
    pub fn is_spent(&self) -> bool {
        self.max.is_some_and(|m| self.used >= m)
    }

    pub fn is_over(&self) -> bool {
        self.max.is_some_and(|m| self.used > m)
    }
}

impl Budget {
    /// Reads `ctx.budget`; absent or null means no budget. Wrong types are an input
    /// error, so a typo never silently disables a limit. A number may be written as a
    /// float (`10.0`, as JSON from many tools does); a fraction is rounded up, which is
    /// what algocline's `used >= max` comparison amounts to.
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
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.is_finite() && *f >= 0.0)
                            .map(|f| f.ceil() as u64)
                    })
                    .map(Some)
                    .ok_or_else(|| {
                        EngineError::Budget(format!(
                            "ctx.budget.{name} must be a non-negative number, got {v}"
                        ))
                    }),
            }
        };
        let strict = match obj.get("strict") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(EngineError::Budget(format!(
                    "ctx.budget.strict must be true or false, got {v}"
                )))
            }
        };
        Ok(Budget {
            max_llm_calls: field("max_llm_calls")?,
            max_elapsed_ms: field("max_elapsed_ms")?,
            max_tokens: field("max_tokens")?,
            strict,
        })
    }

    pub fn is_unlimited(&self) -> bool {
        self.max_llm_calls.is_none() && self.max_elapsed_ms.is_none() && self.max_tokens.is_none()
    }

    /// Calls, elapsed time and tokens against their limits, in that order.
    pub fn uses(&self, m: &Metrics) -> [LimitUse; 3] {
        [
            LimitUse {
                used: m.llm_calls,
                max: self.max_llm_calls,
            },
            LimitUse {
                used: m.elapsed_ms,
                max: self.max_elapsed_ms,
            },
            LimitUse {
                used: m.tokens(),
                max: self.max_tokens,
            },
        ]
    }

    /// The first limit that is spent (used ≥ max), as the `budget_exceeded:` message.
    pub fn exceeded(&self, m: &Metrics) -> Option<String> {
        let names = ["llm_calls", "elapsed_ms", "tokens"];
        self.uses(m)
            .iter()
            .zip(names)
            .find(|(u, _)| u.is_spent())
            .map(|(u, name)| {
                format!(
                    "budget_exceeded: {name} {}/{}",
                    u.used,
                    u.max.unwrap_or_default()
                )
            })
    }

    /// Whether a pause of `size` queries may start, with `outstanding` queries already
    /// asked and not yet answered: the ordinary check, then (strict only) the size.
    pub fn admit(&self, m: &Metrics, outstanding: u64, size: u64) -> Result<(), String> {
        if let Some(msg) = self.exceeded(m) {
            return Err(msg);
        }
        match self.max_llm_calls {
            Some(max) if self.strict && m.llm_calls + outstanding + size > max => {
                let asked = if outstanding > 0 {
                    format!(" (+{outstanding} still unanswered)")
                } else {
                    String::new()
                };
                Err(format!(
                    "budget_exceeded: llm_calls {}{asked} + {size} asked would pass \
                     max_llm_calls {max} (strict budget: ctx.budget.strict / \
                     --budget-strict; without it a pause is only checked before it starts)",
                    m.llm_calls
                ))
            }
            _ => Ok(()),
        }
    }

    /// Remaining capacity per limit, saturating at 0; `None` where unset.
    pub fn remaining(&self, m: &Metrics) -> [Option<u64>; 3] {
        self.uses(m)
            .map(|u| u.max.map(|x| x.saturating_sub(u.used)))
    }
}

/// Live counters of one session. Cloned only to work out the figures an event will
/// carry before it is recorded (see `SessionCore::record`).
#[derive(Debug, Clone)]
pub struct Counters {
    start: Instant,
    metrics: Metrics,
    /// Queries admitted (asked) and not yet answered, failed or withdrawn: what the
    /// strict check counts as already spoken for.
    outstanding: u64,
    /// Queries ready for a person, and since when.
    person_ready: HashMap<QueryId, Instant>,
    /// End of the last interval already counted as a person's time, so overlapping
    /// intervals (a batch, fork children) are never counted twice.
    human_until: Option<Instant>,
    /// The most a provider's reported prompt tokens exceeded our estimate of a prompt
    /// (chat templates, role markers, a default system prompt): the token budget's cap
    /// on a call's output limit leaves room for it (see `prompt_allowance`).
    prompt_overhead: u64,
}

impl Counters {
    pub fn new(start: Instant) -> Self {
        Counters {
            start,
            metrics: Metrics::default(),
            outstanding: 0,
            person_ready: HashMap::new(),
            human_until: None,
            prompt_overhead: 0,
        }
    }

    /// Tokens a call's prompt will take beyond its estimate, as the provider's own
    /// counts have shown so far (0 until a call reported usage).
    pub fn prompt_allowance(&self) -> u64 {
        self.prompt_overhead
    }

    /// A snapshot with the clocks brought up to now: a person's wait still going on
    /// counts as theirs already, so elapsed time stands still while they think.
    pub fn snapshot(&self) -> Metrics {
        self.snapshot_at(Instant::now())
    }

    pub(crate) fn snapshot_at(&self, now: Instant) -> Metrics {
        let mut m = self.metrics.clone();
        m.wall_ms = now.saturating_duration_since(self.start).as_millis() as u64;
        if let Some(earliest) = self.person_ready.values().min() {
            let from = self.human_until.map_or(*earliest, |u| u.max(*earliest));
            m.human_ms += now.saturating_duration_since(from).as_millis() as u64;
        }
        m.elapsed_ms = m.wall_ms.saturating_sub(m.human_ms);
        m
    }

    /// Checks the budget for a pause of `size` queries and, when it may start, counts
    /// them as outstanding. One lock for both, so concurrent fork children cannot
    /// both pass a strict check that only one of them fits.
    pub fn admit(&mut self, budget: &Budget, size: u64) -> Result<(), String> {
        budget.admit(&self.snapshot(), self.outstanding, size)?;
        self.outstanding += size;
        Ok(())
    }

    /// Queries admitted that will never be answered (a pause that failed early, or
    /// could not register).
    pub fn release(&mut self, ids: &[QueryId]) {
        let now = Instant::now();
        for id in ids {
            self.settle(id, now);
        }
    }

    /// Counts one answered call: provider usage where reported, else estimates.
    pub fn record_answer(&mut self, id: &str, prompt_estimate: u64, answer: &Answer) {
        self.record_answer_at(id, prompt_estimate, answer, Instant::now());
    }

    /// [`Self::record_answer`] with the query settled at `now`.
    pub fn record_answer_at(
        &mut self,
        id: &str,
        prompt_estimate: u64,
        answer: &Answer,
        now: Instant,
    ) {
        self.settle(id, now);
        self.metrics.llm_calls += 1;
        match answer.usage {
            Some(u) => {
                self.metrics.prompt_tokens += u.prompt_tokens;
                self.metrics.completion_tokens += u.completion_tokens;
                let overhead = u.prompt_tokens.saturating_sub(prompt_estimate);
                self.prompt_overhead = self.prompt_overhead.max(overhead);
            }
            None => {
                self.metrics.estimated_calls += 1;
                self.metrics.prompt_tokens += prompt_estimate;
                self.metrics.completion_tokens += estimate_tokens(&answer.text);
            }
        }
    }

    pub fn record_failure(&mut self, id: &str) {
        self.record_failure_at(id, Instant::now());
    }

    /// [`Self::record_failure`] with the query settled at `now`.
    pub fn record_failure_at(&mut self, id: &str, now: Instant) {
        self.settle(id, now);
        self.metrics.failed_calls += 1;
    }

    /// The query `id` is ready for a person from now on (the first call counts).
    pub fn person_ready(&mut self, id: &str, now: Instant) {
        self.person_ready.entry(id.to_string()).or_insert(now);
    }

    /// A wait of the person's that is not a query: the debugger holding a stopped
    /// strategy. `key` names it (never a query id); [`Self::person_wait_ends`] ends it.
    pub(crate) fn person_wait_begins(&mut self, key: &str, now: Instant) {
        self.person_ready.entry(key.to_string()).or_insert(now);
    }

    pub(crate) fn person_wait_ends(&mut self, key: &str, now: Instant) {
        if let Some(from) = self.person_ready.remove(key) {
            self.record_person_wait(from, now);
        }
    }

    /// A query leaves: it is no longer outstanding, and a person's wait on it ends.
    pub(crate) fn settle(&mut self, id: &str, now: Instant) {
        self.outstanding = self.outstanding.saturating_sub(1);
        if let Some(from) = self.person_ready.remove(id) {
            self.record_person_wait(from, now);
        }
    }

    /// Charges the interval `[from, to]` to the person, minus any part already counted.
    /// Intervals arrive in order of their end (each ends "now", under the lock), so this
    /// keeps an exact union.
    fn record_person_wait(&mut self, from: Instant, to: Instant) {
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
        assert!(!b.strict);
        assert!(Budget::from_ctx(&json!({})).unwrap().is_unlimited());
        assert!(Budget::from_ctx(&json!({"budget": null}))
            .unwrap()
            .is_unlimited());
    }

    #[test]
    fn a_float_limit_is_a_limit() {
        let b = Budget::from_ctx(&json!({"budget": {"max_llm_calls": 10.0, "max_tokens": 2.5}}))
            .unwrap();
        assert_eq!(b.max_llm_calls, Some(10));
        // used >= 2.5 first holds at 3, as algocline's comparison does.
        assert_eq!(b.max_tokens, Some(3));
    }

    #[test]
    fn strict_is_read_and_must_be_a_boolean() {
        let b = Budget::from_ctx(&json!({"budget": {"max_llm_calls": 2, "strict": true}})).unwrap();
        assert!(b.strict);
        let err = Budget::from_ctx(&json!({"budget": {"strict": "yes"}})).unwrap_err();
        assert!(err.to_string().contains("ctx.budget.strict"), "{err}");
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
        let [calls, time, _] = b.uses(&m);
        assert!(calls.is_spent() && !calls.is_over());
        assert!(!time.is_spent(), "no limit is never spent");
        m.llm_calls = 5;
        assert!(b.uses(&m)[0].is_over());
    }

    #[test]
    fn a_batch_is_checked_once_before_it_starts_unless_strict() {
        let mut b = Budget {
            max_llm_calls: Some(2),
            ..Budget::default()
        };
        let m = Metrics {
            llm_calls: 1,
            ..Metrics::default()
        };
        assert_eq!(b.admit(&m, 0, 5), Ok(()), "algocline: a batch may end over");
        b.strict = true;
        let err = b.admit(&m, 0, 5).unwrap_err();
        assert!(
            err.starts_with("budget_exceeded: llm_calls 1 + 5 asked would pass max_llm_calls 2"),
            "{err}"
        );
        assert!(err.contains("--budget-strict"), "{err}");
        assert_eq!(b.admit(&m, 0, 1), Ok(()), "one more call fits exactly");
        let err = b.admit(&m, 1, 1).unwrap_err();
        assert!(err.contains("+1 still unanswered"), "{err}");
    }

    #[test]
    fn strict_counts_what_is_outstanding_until_it_settles() {
        let b = Budget {
            max_llm_calls: Some(3),
            strict: true,
            ..Budget::default()
        };
        let mut c = Counters::new(Instant::now());
        c.admit(&b, 2).unwrap();
        assert!(c.admit(&b, 2).is_err(), "2 asked + 2 would pass 3");
        c.record_answer("q-1", 1, &Answer::new("a", AnswerOrigin::Script));
        c.release(&["q-2".to_string()]);
        c.admit(&b, 2).unwrap();
        assert_eq!(c.snapshot().llm_calls, 1);
    }

    #[test]
    fn remaining_saturates_at_zero() {
        let b = Budget {
            max_llm_calls: Some(2),
            max_elapsed_ms: None,
            max_tokens: Some(10),
            strict: false,
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
        c.record_answer("q-1", 100, &a);
        let m = c.snapshot();
        assert_eq!((m.prompt_tokens, m.completion_tokens), (7, 3));
        assert_eq!(m.token_basis(), "provided");
        c.record_answer("q-2", 5, &Answer::new("abcdefgh", AnswerOrigin::Script));
        let m = c.snapshot();
        assert_eq!(m.prompt_tokens, 12);
        assert_eq!(m.token_basis(), "estimated");
    }

    #[test]
    fn person_time_runs_from_ready_to_settled_and_overlaps_count_once() {
        let t0 = Instant::now();
        let mut c = Counters::new(t0);
        let s = |ms| t0 + Duration::from_millis(ms);
        c.person_ready("q-1", s(0));
        c.person_ready("q-2", s(50));
        c.person_ready("q-1", s(70)); // a second call does not move the start
                                      // Live: while both wait, the person's clock runs and elapsed stands still.
        let live = c.snapshot_at(s(120));
        assert_eq!((live.human_ms, live.elapsed_ms), (120, 0));
        c.settle("q-1", s(100));
        c.settle("q-2", s(150)); // overlaps q-1 by 50
        c.person_ready("q-3", s(300));
        c.settle("q-3", s(400));
        c.settle("q-4", s(500)); // never ready: a machine's answer, not the person's
        let m = c.snapshot_at(s(1000));
        assert_eq!(m.human_ms, 250);
        assert_eq!(m.wall_ms, 1000);
        assert_eq!(m.elapsed_ms, 750);
    }

    #[test]
    fn a_query_handed_back_to_a_model_stops_the_persons_clock() {
        let t0 = Instant::now();
        let mut c = Counters::new(t0);
        let s = |ms| t0 + Duration::from_millis(ms);
        c.person_ready("q-1", s(0)); // ctrl-r: the person has it
        c.person_wait_ends("q-1", s(100)); // f5: a model drafts it again
        let drafting = c.snapshot_at(s(600));
        assert_eq!((drafting.human_ms, drafting.elapsed_ms), (100, 500));
        c.person_ready("q-1", s(600)); // the draft is complete
        c.settle("q-1", s(700));
        assert_eq!(c.snapshot_at(s(1000)).human_ms, 200);
    }

    #[test]
    fn reported_prompts_teach_the_overhead_beyond_the_estimate() {
        let mut c = Counters::new(Instant::now());
        assert_eq!(c.prompt_allowance(), 0);
        let mut a = Answer::new("x", AnswerOrigin::Provider);
        a.usage = Some(Usage {
            prompt_tokens: 49,
            completion_tokens: 5,
        });
        c.record_answer("q-1", 18, &a);
        assert_eq!(c.prompt_allowance(), 31, "a chat template's tokens");
        a.usage = Some(Usage {
            prompt_tokens: 20,
            completion_tokens: 5,
        });
        c.record_answer("q-2", 18, &a);
        assert_eq!(c.prompt_allowance(), 31, "the most seen is kept");
        c.record_answer("q-3", 100, &Answer::new("x", AnswerOrigin::Human));
        assert_eq!(c.prompt_allowance(), 31, "an estimate teaches nothing");
    }
}
