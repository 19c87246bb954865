//! `alc.llm`, `alc.llm_batch` and `alc.budget_remaining`: the calls that pause a
//! strategy until someone answers.
//!
//! A pause: check the budget (once per pause, as algocline; strict mode also checks
//! the pause's size), cap each query's output limit to what a token budget has left
//! (`max_tokens_capped`), register the queries in the session core, let the instant
//! hook answer what it can (`engine::instant`), emit `Paused` (then those answers),
//! block this VM thread on a reply channel until every query is answered (or one
//! fails, or the session is cancelled), and emit `Resumed`. Person time is not
//! measured here: the driver tells the session when a query is ready for a person.

use std::sync::{mpsc, Arc};

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};

use super::{call_site, raw_fn, PrimError, PrimResult, VmContext};
use crate::engine::core::Reply;
use crate::engine::event::{BatchPos, Query, SessionEvent};
use crate::engine::textops::estimate_tokens;

pub(crate) const DEFAULT_MAX_TOKENS: u32 = 1024;

/// One query as the strategy asked it, before it gets an id and a site.
struct Ask {
    prompt: String,
    system: Option<String>,
    max_tokens: u32,
    grounded: bool,
    underspecified: bool,
}

/// Prompts may hold any bytes; invalid UTF-8 is replaced rather than refused, so a
/// strategy that slices a string mid-character still gets its question asked.
fn text_of(v: &Value, what: &str) -> Result<String, PrimError> {
    match v {
        Value::String(s) => Ok(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(PrimError::arg(format!(
            "{what} must be a string, got {}",
            other.type_name()
        ))),
    }
}

fn read_opts(ask: &mut Ask, opts: Option<&Table>, what: &str) -> Result<(), PrimError> {
    let Some(t) = opts else { return Ok(()) };
    match t.get::<Value>("system")? {
        Value::Nil => {}
        v => ask.system = Some(text_of(&v, &format!("{what}.system"))?),
    }
    match t.get::<Value>("max_tokens")? {
        Value::Nil => {}
        Value::Integer(n) if n > 0 => ask.max_tokens = n.min(u32::MAX as i64) as u32,
        Value::Number(n) if n >= 1.0 => ask.max_tokens = n.min(u32::MAX as f64) as u32,
        v => {
            return Err(PrimError::arg(format!(
                "{what}.max_tokens must be a positive integer, got {}",
                v.to_string().unwrap_or_else(|_| v.type_name().to_string())
            )))
        }
    }
    ask.grounded = t.get::<Option<bool>>("grounded")?.unwrap_or(false);
    ask.underspecified = t.get::<Option<bool>>("underspecified")?.unwrap_or(false);
    Ok(())
}

fn new_ask(prompt: String) -> Ask {
    Ask {
        prompt,
        system: None,
        max_tokens: DEFAULT_MAX_TOKENS,
        grounded: false,
        underspecified: false,
    }
}

/// Caps each query's output limit to its share of the `left` tokens of the budget
/// (what is left after the prompts' own tokens: estimated, plus the overhead the
/// provider's counts have shown): a budget of 150 is not overshot to 243 by one long
/// answer. A batch shares it equally. At least 1 token
/// each, so the call is still a call; `max_tokens` keeps what the strategy asked.
fn cap_output(queries: &mut [Query], left: u64) {
    let share = (left / queries.len().max(1) as u64).max(1);
    for q in queries {
        if share < u64::from(q.max_tokens) {
            q.max_tokens_capped = Some(share as u32);
        }
    }
}

/// Records the answers the instant hook gave (transcript first, like any answer); their
/// replies then wait in the pause's channel. One the transcript refuses is not
/// acknowledged, so the strategy must not go on, and there is no driver to hold it
/// paused and report: the session ends with the error, which no `pcall` can catch (as
/// `os.exit`). Headless, that is exit 1, as when a driver's answer is refused.
fn give_instant_answers(
    lua: &Lua,
    vm: &VmContext,
    answers: Vec<(String, crate::engine::Answer)>,
) -> Result<(), PrimError> {
    for (id, answer) in answers {
        if let Err(e) = vm.core.answer(&id, answer) {
            if !vm.core.is_cancelled() {
                vm.core.request_exit(crate::engine::core::ExitRequest {
                    code: 1,
                    fork: vm.fork.clone(),
                    site: call_site(lua),
                    reason: Some(e.to_string()),
                });
            }
            return Err(PrimError::plain("cancelled"));
        }
    }
    Ok(())
}

/// Asks and waits. Returns the answers in input order.
fn pause(lua: &Lua, vm: &VmContext, asks: Vec<Ask>, batch: bool) -> Result<Vec<String>, PrimError> {
    let core = &vm.core;
    if core.is_cancelled() {
        return Err(PrimError::plain("cancelled"));
    }
    if lua.app_data_ref::<super::inspect::Evaluating>().is_some() {
        return Err(PrimError::arg(super::inspect::LLM_REFUSED));
    }
    let size = asks.len();
    let (tokens_left, allowance) = {
        let mut counters = core.counters();
        counters
            .admit(&core.budget, size as u64)
            .map_err(PrimError::plain)?;
        let left = core.budget.remaining(&counters.snapshot())[2];
        (left, counters.prompt_allowance())
    };
    let site = call_site(lua);
    let pause = core.next_pause_id();
    let mut queries: Vec<Query> = asks
        .into_iter()
        .enumerate()
        .map(|(index, a)| Query {
            id: core.next_query_id(),
            prompt: a.prompt,
            system: a.system,
            max_tokens: a.max_tokens,
            grounded: a.grounded,
            underspecified: a.underspecified,
            site: site.clone(),
            batch: batch.then_some(BatchPos { index, size }),
            fork: vm.fork.clone(),
            max_tokens_capped: None,
        })
        .collect();
    let keys: Vec<_> = queries
        .iter()
        .map(|q| {
            let sys = q.system.as_deref().map(estimate_tokens).unwrap_or(0);
            (q.id.clone(), estimate_tokens(&q.prompt) + sys)
        })
        .collect();
    if let Some(left) = tokens_left {
        // Each prompt as estimated, an eighth more for the estimate's error (tokenisers
        // differ), plus what the provider has shown it adds to every prompt.
        let prompts: u64 = keys
            .iter()
            .map(|(_, estimate)| estimate + estimate.div_ceil(8) + allowance)
            .sum();
        cap_output(&mut queries, left.saturating_sub(prompts));
    }
    let (tx, rx) = mpsc::channel();
    if let Err(e) = core.register(pause, &keys, &tx) {
        let ids: Vec<_> = keys.into_iter().map(|(id, _)| id).collect();
        core.counters().release(&ids);
        return Err(PrimError::plain(e));
    }
    // Only the pending entries hold senders now: if they all vanish, recv fails.
    drop(tx);
    // Decided before the pause is published, so a driver never sees these as its own.
    let instant: Vec<(String, crate::engine::Answer)> = match &core.instant {
        Some(hook) => queries
            .iter()
            .filter_map(|q| hook.answer_now(q).map(|a| (q.id.clone(), a)))
            .collect(),
        None => Vec::new(),
    };
    core.emit(SessionEvent::Paused { pause, queries });
    give_instant_answers(lua, vm, instant)?;

    let mut answers: Vec<Option<String>> = vec![None; size];
    let mut left = size;
    while left > 0 {
        match rx.recv() {
            Ok(Reply::Answer(i, a)) => {
                if answers[i].replace(a.text).is_none() {
                    left -= 1;
                }
            }
            Ok(Reply::Fail(i, err)) => {
                core.withdraw(pause);
                core.emit(SessionEvent::Resumed { pause });
                let err = if batch {
                    format!("alc.llm_batch item {}: {err}", i + 1)
                } else {
                    err
                };
                return Err(PrimError::plain(err));
            }
            Ok(Reply::Cancelled) | Err(_) => return Err(PrimError::plain("cancelled")),
        }
    }
    core.emit(SessionEvent::Resumed { pause });
    // A breakpoint set (or a pause asked for) while waiting applies from the next line.
    super::hook::sync(lua, &core.debugger);
    Ok(answers.into_iter().map(Option::unwrap_or_default).collect())
}

pub(crate) fn register(lua: &Lua, raw: &Table, vm: &Arc<VmContext>) -> mlua::Result<()> {
    let v = vm.clone();
    raw.set(
        "llm",
        raw_fn(lua, move |lua, args: MultiValue| -> PrimResult {
            let mut it = args.into_iter();
            let prompt = text_of(&it.next().unwrap_or(Value::Nil), "alc.llm: prompt")?;
            let mut ask = new_ask(prompt);
            match it.next() {
                None | Some(Value::Nil) => {}
                Some(Value::Table(t)) => read_opts(&mut ask, Some(&t), "alc.llm: opts")?,
                Some(o) => {
                    return Err(PrimError::arg(format!(
                        "alc.llm: opts must be a table, got {}",
                        o.type_name()
                    )))
                }
            }
            let mut answers = pause(lua, &v, vec![ask], false)?;
            Ok(answers.pop().unwrap_or_default().into_lua_multi(lua)?)
        })?,
    )?;

    let v = vm.clone();
    raw.set(
        "llm_batch",
        raw_fn(lua, move |lua, args: MultiValue| -> PrimResult {
            let items = match args.into_iter().next() {
                Some(Value::Table(t)) => t,
                other => {
                    return Err(PrimError::arg(format!(
                        "alc.llm_batch: expected an array of {{prompt=…}} items, got {}",
                        other.map(|o| o.type_name()).unwrap_or("nothing")
                    )))
                }
            };
            let mut asks = Vec::new();
            for (i, item) in items.sequence_values::<Value>().enumerate() {
                let what = format!("alc.llm_batch: item {}", i + 1);
                let ask = match item? {
                    Value::Table(t) => {
                        let mut a = new_ask(text_of(&t.get("prompt")?, &format!("{what}.prompt"))?);
                        read_opts(&mut a, Some(&t), &what)?;
                        a
                    }
                    s @ Value::String(_) => new_ask(text_of(&s, &what)?),
                    o => {
                        return Err(PrimError::arg(format!(
                            "{what} must be a table with .prompt, got {}",
                            o.type_name()
                        )))
                    }
                };
                asks.push(ask);
            }
            if asks.is_empty() {
                return Err(PrimError::arg(
                    "alc.llm_batch: empty array (nothing to ask)",
                ));
            }
            let answers = pause(lua, &v, asks, true)?;
            let t = super::arrays::array_from(lua, answers)?;
            Ok(t.into_lua_multi(lua)?)
        })?,
    )?;

    let v = vm.clone();
    raw.set(
        "budget_remaining",
        raw_fn(lua, move |lua, _args| -> PrimResult {
            let b = v.core.budget;
            if b.is_unlimited() {
                return Ok(Value::Nil.into_lua_multi(lua)?);
            }
            let [calls, ms, tokens] = b.remaining(&v.core.metrics());
            let t = lua.create_table()?;
            t.set("llm_calls", calls)?;
            t.set("elapsed_ms", ms)?;
            t.set("tokens", tokens)?;
            Ok(t.into_lua_multi(lua)?)
        })?,
    )?;
    Ok(())
}
