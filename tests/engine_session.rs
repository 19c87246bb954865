//! Engine tests that run Lua: pauses, batches, errors, cancellation, isolation.

mod support;

use std::time::Duration;

use alc_workbench::engine::{Answer, AnswerOrigin, Metrics, Session, SessionEvent, Status};
use serde_json::json;
use support::*;

#[test]
fn llm_round_trip_returns_answers_and_orders_events() {
    let (out, events) = run(
        "local a = alc.llm('first?')\nlocal b = alc.llm('second?', {system = 'sys', max_tokens = 50})\nreturn {a = a, b = b}",
        |q| Ok(format!("re: {}", q.prompt)),
    );
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(
        out.result.unwrap(),
        json!({"a": "re: first?", "b": "re: second?"})
    );
    let kinds: Vec<_> = events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        ["session", "query", "answer", "resumed", "query", "answer", "resumed", "end"]
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    let qs = queries(&events);
    assert_eq!(qs[0].id, "q-1");
    assert_eq!(qs[0].max_tokens, 1024);
    assert_eq!(qs[1].system.as_deref(), Some("sys"));
    assert_eq!(qs[1].max_tokens, 50);
    assert_eq!(out.metrics.llm_calls, 2);
    assert!(out.metrics.tokens() > 0);
}

#[test]
fn call_site_is_the_strategy_line_even_through_the_prelude() {
    let (_, events) = run(
        "local x = 1\nlocal a = alc.llm('direct')\nlocal b = alc.llm_safe('safe', nil, 'd')\nreturn a",
        |_| Ok("ok".into()),
    );
    let qs = queries(&events);
    let site = qs[0].site.as_ref().unwrap();
    assert_eq!((site.file.as_str(), site.line), ("test.lua", 2));
    assert_eq!(qs[1].site.as_ref().unwrap().line, 3);
}

#[test]
fn batch_is_one_pause_with_indexed_queries() {
    let (out, events) = run(
        "return alc.llm_batch({{prompt='a'}, {prompt='b', system='s'}, {prompt='c', max_tokens=5}})",
        |q| Ok(q.prompt.to_uppercase()),
    );
    assert_eq!(out.result.unwrap(), json!(["A", "B", "C"]));
    let pauses: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::Paused { .. }))
        .collect();
    assert_eq!(pauses.len(), 1);
    let qs = queries(&events);
    assert_eq!(qs.len(), 3);
    assert_eq!(qs[2].batch.unwrap().index, 2);
    assert_eq!(qs[2].batch.unwrap().size, 3);
    assert_eq!(qs[2].max_tokens, 5);
    assert_eq!(out.metrics.llm_calls, 3);
}

#[test]
fn empty_batch_is_an_error() {
    let out = eval("return alc.llm_batch({})");
    assert_eq!(out.status, Status::Failed);
    assert!(out.error.unwrap().message.contains("empty"));
}

#[test]
fn budget_is_checked_before_each_call_and_errors_are_plain_strings() {
    let mut cfg = config(
        "local a = alc.llm('one')\nlocal ok, err = pcall(alc.llm, 'two')\nreturn {ok = ok, err = err, t = type(err), left = alc.budget_remaining()}",
    );
    cfg.ctx = json!({"budget": {"max_llm_calls": 1, "max_tokens": 100000}});
    let (out, events) = run_config(cfg, |_| Ok("x".into()));
    let r = out.result.unwrap();
    assert_eq!(r["ok"], json!(false));
    assert_eq!(r["t"], json!("string"));
    assert!(
        r["err"].as_str().unwrap().starts_with("budget_exceeded:"),
        "{r}"
    );
    assert_eq!(r["left"]["llm_calls"], json!(0));
    assert!(r["left"]["tokens"].as_u64().unwrap() > 0);
    assert!(r["left"].get("elapsed_ms").is_none());
    assert_eq!(queries(&events).len(), 1);
}

#[test]
fn uncaught_budget_error_fails_the_session_at_the_call_line() {
    let mut cfg = config("alc.llm('one')\nalc.llm('two')\nreturn 1");
    cfg.ctx = json!({"budget": {"max_llm_calls": 1}});
    let (out, _) = run_config(cfg, |_| Ok("x".into()));
    assert_eq!(out.status, Status::Failed);
    let err = out.error.unwrap();
    assert!(
        err.message.starts_with("budget_exceeded: llm_calls 1/1"),
        "{}",
        err.message
    );
    assert_eq!(err.site.unwrap().line, 2);
}

#[test]
fn no_budget_means_budget_remaining_is_nil() {
    assert_eq!(
        eval("return alc.budget_remaining() == nil").result,
        Some(json!(true))
    );
}

#[test]
fn failed_query_raises_in_lua_and_can_be_caught() {
    let (out, events) = run(
        "local ok, err = pcall(alc.llm, 'q')\nreturn {ok = ok, err = err}",
        |_| Err("model unavailable".into()),
    );
    assert_eq!(
        out.result.unwrap(),
        json!({"ok": false, "err": "model unavailable"})
    );
    assert!(events.iter().any(|e| e.event.kind() == "query_failed"));
    assert_eq!(out.metrics.llm_calls, 0);
    assert_eq!(out.metrics.failed_calls, 1);
}

#[test]
fn answering_an_unknown_query_is_an_error() {
    let (session, mut events) = Session::start(config("return alc.llm('x')")).unwrap();
    loop {
        let ev = events.blocking_recv().unwrap();
        if let SessionEvent::Paused { queries, .. } = ev.event {
            let err = session
                .answer(
                    "q-99",
                    alc_workbench::engine::Answer::new(
                        "x",
                        alc_workbench::engine::AnswerOrigin::Human,
                    ),
                )
                .unwrap_err();
            assert!(err.to_string().contains("q-99"));
            session.cancel();
            let _ = queries;
            break;
        }
    }
}

#[test]
fn syntax_error_names_file_and_line() {
    let out = eval("local a = 1\nlocal b = = 2\nreturn a");
    assert_eq!(out.status, Status::Failed);
    let err = out.error.unwrap();
    assert_eq!(err.site.unwrap().line, 2, "{}", err.message);
    assert!(err.message.contains("test.lua:2"), "{}", err.message);
}

#[test]
fn runtime_error_has_site_and_traceback() {
    let out = eval("local function f(t)\n  return t.x.y\nend\nlocal r = f({})\nreturn r");
    let err = out.error.unwrap();
    assert_eq!(err.site.as_ref().unwrap().line, 2);
    assert!(err.message.contains("attempt to index"), "{}", err.message);
    let tb = err.traceback.unwrap();
    assert!(tb.contains("test.lua:4"), "{tb}");
}

#[test]
fn unknown_alc_name_is_a_clear_error() {
    let out = eval("local x = 1\nlocal c = alc.card.get('x')\nreturn c");
    let err = out.error.unwrap();
    assert!(
        err.message.contains("alc.card.get is not available"),
        "{}",
        err.message
    );
    assert_eq!(err.site.unwrap().line, 2);
}

#[test]
fn print_is_captured_as_a_log() {
    let (_, events) = run(
        "print('hello', 42)\nalc.log('warn', 'careful')\nreturn nil",
        |_| Ok(String::new()),
    );
    let l = logs(&events);
    assert!(l.contains(&("info".into(), "hello\t42".into())), "{l:?}");
    assert!(l.contains(&("warn".into(), "careful".into())));
}

#[test]
fn seed_makes_math_random_repeatable_and_is_recorded() {
    let code = "return {math.random(1, 1000000), math.random()}";
    let a = eval(code).result;
    let b = eval(code).result;
    assert_eq!(a, b);
    let mut cfg = config(code);
    cfg.seed = Some(8);
    let (c, events) = run_config(cfg, |_| Ok(String::new()));
    assert_ne!(a, c.result);
    match &events[0].event {
        SessionEvent::Started { seed, .. } => assert_eq!(*seed, 8),
        other => panic!("first event {other:?}"),
    }
}

#[test]
fn cancel_stops_an_infinite_loop_and_a_looping_coroutine() {
    for code in [
        "alc.log('info', 'spinning')\nwhile true do end",
        "local co = coroutine.wrap(function() while true do end end)\nco()",
        "while true do pcall(function() while true do end end) end",
    ] {
        let (session, mut events) = Session::start(config(code)).unwrap();
        // Wait until the VM is running the chunk before cancelling.
        loop {
            let ev = events.blocking_recv().unwrap();
            if ev.event.kind() == "session" {
                break;
            }
        }
        session.cancel();
        let outcome = loop {
            if let SessionEvent::Finished(o) = events.blocking_recv().unwrap().event {
                break o;
            }
        };
        assert_eq!(outcome.status, Status::Cancelled, "{code}");
    }
}

#[test]
fn cancel_wakes_a_strategy_waiting_for_an_answer() {
    let (session, mut events) = Session::start(config("return alc.llm('wait')")).unwrap();
    loop {
        if let SessionEvent::Paused { .. } = events.blocking_recv().unwrap().event {
            break;
        }
    }
    session.cancel();
    let outcome = loop {
        if let SessionEvent::Finished(o) = events.blocking_recv().unwrap().event {
            break o;
        }
    };
    assert_eq!(outcome.status, Status::Cancelled);
}

#[test]
fn concurrent_sessions_do_not_share_globals() {
    let a = Session::start(config(
        "shared = 'a'\nlocal r = alc.llm('a')\nreturn {mine = shared, r = r}",
    ))
    .unwrap();
    let b = Session::start(config("local before = shared\nshared = 'b'\nlocal r = alc.llm('b')\nreturn {before = before, mine = shared}")).unwrap();
    // Both are paused at the same time before either is answered.
    let (sa, mut ea) = a;
    let (sb, mut eb) = b;
    let wait_pause = |e: &mut alc_workbench::engine::EventStream| loop {
        if let SessionEvent::Paused { queries, .. } = e.blocking_recv().unwrap().event {
            return queries[0].id.clone();
        }
    };
    let (qa, qb) = (wait_pause(&mut ea), wait_pause(&mut eb));
    sa.answer(
        &qa,
        alc_workbench::engine::Answer::new("x", alc_workbench::engine::AnswerOrigin::Script),
    )
    .unwrap();
    sb.answer(
        &qb,
        alc_workbench::engine::Answer::new("y", alc_workbench::engine::AnswerOrigin::Script),
    )
    .unwrap();
    let (oa, _) = drive(&sa, ea, |_| Ok(String::new()));
    let (ob, _) = drive(&sb, eb, |_| Ok(String::new()));
    assert_eq!(oa.result.unwrap()["mine"], json!("a"));
    let rb = ob.result.unwrap();
    assert_eq!(rb["mine"], json!("b"));
    assert!(rb.get("before").is_none(), "b saw a's global: {rb}");
}

#[test]
fn memory_limit_is_a_clear_error() {
    let mut cfg =
        config("local t = {}\nfor i = 1, 1e8 do t[i] = string.rep('x', 100) .. i end\nreturn #t");
    cfg.memory_limit = 16 * 1024 * 1024;
    let (out, _) = run_config(cfg, |_| Ok(String::new()));
    assert_eq!(out.status, Status::Failed);
    assert!(out.error.unwrap().message.contains("memory limit"));
}

#[test]
fn huge_and_non_utf8_prompts_are_asked() {
    let (out, events) = run(
        "local big = string.rep('a', 10 * 1024 * 1024)\nlocal r1 = alc.llm(big)\nlocal r2 = alc.llm('caf\\xff\\xfe!')\nreturn {#r1, r2}",
        |q| Ok(format!("{}", q.prompt.len().min(20))),
    );
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    let qs = queries(&events);
    assert_eq!(qs[0].prompt.len(), 10 * 1024 * 1024);
    assert!(qs[1].prompt.starts_with("caf") && qs[1].prompt.contains('\u{FFFD}'));
}

/// Waits until the engine's own figures satisfy `done` (polling them: the passing of
/// time is the thing measured here, and the engine's clock is the one that counts).
fn until_metrics(session: &Session, done: impl Fn(&Metrics) -> bool) -> Metrics {
    loop {
        let m = session.metrics();
        if done(&m) {
            return m;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn next_pause(events: &mut alc_workbench::engine::EventStream) -> String {
    loop {
        if let SessionEvent::Paused { queries, .. } = events.blocking_recv().unwrap().event {
            return queries[0].id.clone();
        }
    }
}

#[test]
fn person_time_runs_from_person_ready_to_the_answer_and_is_never_charged() {
    let mut cfg = config("local a = alc.llm('think')\nlocal b = alc.llm('machine')\nreturn {a, b}");
    cfg.ctx = json!({"budget": {"max_elapsed_ms": 100000}});
    let (session, mut events) = Session::start(cfg).unwrap();
    let q1 = next_pause(&mut events);
    session.person_ready(&q1).unwrap();
    session.person_ready(&q1).unwrap(); // again: changes nothing
                                        // While the person thinks, the engine's elapsed time stands still.
    let thinking = until_metrics(&session, |m| m.human_ms >= 150);
    assert!(thinking.elapsed_ms < 100, "{thinking:?}");
    session
        .answer(&q1, Answer::new("done", AnswerOrigin::Human))
        .unwrap();
    // A query nobody marked ready (a provider, a command) is the strategy's time,
    // whoever answers it.
    let q2 = next_pause(&mut events);
    let before = session.metrics();
    until_metrics(&session, |m| m.wall_ms >= before.wall_ms + 150);
    session
        .answer(&q2, Answer::new("auto", AnswerOrigin::Provider))
        .unwrap();
    let (out, seen) = drive(&session, events, |_| Ok(String::new()));
    let m = &out.metrics;
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert!(
        m.human_ms >= 150 && m.human_ms < before.human_ms + 100,
        "{m:?}"
    );
    assert!(m.elapsed_ms >= 150, "the machine's wait is charged: {m:?}");
    assert!(m.elapsed_ms + m.human_ms <= m.wall_ms + 1, "{m:?}");
    // The same figures travel with the events.
    let last = seen.last().unwrap();
    assert_eq!(last.metrics.llm_calls, 2);
    assert!(last.metrics.human_ms >= m.human_ms);
    assert!(session.person_ready("q-99").is_err(), "unknown or finished");
}

#[test]
fn every_event_carries_the_engines_metrics() {
    let (out, events) = run(
        "local a = alc.llm('one')\nlocal b = alc.llm_batch({'x', 'y'})\nreturn 1",
        |_| Ok("abcd".into()),
    );
    assert_eq!(out.metrics.llm_calls, 3);
    let calls: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::Answered { .. }))
        .map(|e| e.metrics.llm_calls)
        .collect();
    assert_eq!(calls, vec![1, 2, 3], "counted before the event goes out");
    for pair in events.windows(2) {
        assert!(pair[0].metrics.wall_ms <= pair[1].metrics.wall_ms);
        assert_eq!(pair[1].t_ms, pair[1].metrics.wall_ms);
    }
    assert_eq!(events.last().unwrap().metrics.completion_tokens, 3);
}

#[test]
fn a_batch_is_checked_before_it_starts_and_may_end_over_budget() {
    let code = "local a = alc.llm('one')\nlocal b = alc.llm_batch({'x', 'y', 'z', 'w'})\nlocal ok, e = pcall(alc.llm, 'after')\nreturn {n = #b, e = e}";
    let mut cfg = config(code);
    cfg.ctx = json!({"budget": {"max_llm_calls": 2}});
    let (out, _) = run_config(cfg, |_| Ok("a".into()));
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    let r = out.result.unwrap();
    assert_eq!(r["n"], json!(4), "as algocline: one check before the batch");
    assert_eq!(r["e"], json!("budget_exceeded: llm_calls 5/2"));
    assert_eq!(out.metrics.llm_calls, 5);
}

#[test]
fn strict_refuses_a_batch_that_would_pass_the_calls_limit_before_asking() {
    let code = "local a = alc.llm('one')\nlocal b = alc.llm_batch({'x', 'y', 'z', 'w'})\nreturn b";
    let mut cfg = config(code);
    cfg.ctx = json!({"budget": {"max_llm_calls": 2, "strict": true}});
    let (out, events) = run_config(cfg, |_| Ok("a".into()));
    assert_eq!(out.status, Status::Failed);
    let err = out.error.unwrap();
    assert!(
        err.message
            .starts_with("budget_exceeded: llm_calls 1 + 4 asked would pass max_llm_calls 2"),
        "{}",
        err.message
    );
    assert!(err.message.contains("--budget-strict"), "{}", err.message);
    assert_eq!(queries(&events).len(), 1, "no query of the batch was asked");
    assert_eq!(out.metrics.llm_calls, 1);
}

#[test]
fn fork_is_checked_before_it_starts() {
    let mut cfg = config("alc.llm('one')\nreturn alc.fork({'cot'}, {task = 't'})");
    cfg.ctx = json!({"budget": {"max_llm_calls": 1}});
    let (out, events) = run_config(cfg, |_| Ok("a".into()));
    assert_eq!(out.status, Status::Failed);
    let msg = out.error.unwrap().message;
    assert!(msg.contains("budget_exceeded: llm_calls 1/1"), "{msg}");
    assert_eq!(queries(&events).len(), 1);
}

/// Issue 11: with a token budget, each call's output limit is capped to what is left
/// after the prompt (a batch shares it), recorded as `max_tokens_capped`; `max_tokens`
/// keeps what the strategy asked. A call that fits is not capped.
#[test]
fn a_token_budget_caps_each_calls_output_limit() {
    let mut cfg = config(
        "local small = alc.llm('short', {max_tokens = 10})\n\
         local a = alc.llm('one', {max_tokens = 1000})\n\
         local b = alc.llm_batch({{prompt = 'x', max_tokens = 1000}, {prompt = 'y', max_tokens = 1000}})\n\
         return 'ok'",
    );
    cfg.ctx = json!({"budget": {"max_tokens": 150}});
    // Answers of 20 characters: 5 estimated tokens each.
    let (out, events) = run_config(cfg, |_| Ok("a".repeat(20)));
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    let qs = queries(&events);
    assert_eq!(qs[0].max_tokens_capped, None, "10 fits in 150");
    let cap = qs[1].max_tokens_capped.expect("1000 does not fit");
    assert_eq!(qs[1].max_tokens, 1000);
    // 150 less the first call (about 2 + 5 tokens) and this prompt's own estimate.
    assert!((130..145).contains(&cap), "{cap}");
    let (x, y) = (
        qs[2].max_tokens_capped.unwrap(),
        qs[3].max_tokens_capped.unwrap(),
    );
    assert_eq!(x, y, "a batch shares what is left");
    assert!(
        u64::from(x + y) < u64::from(cap),
        "less is left for the batch: {x}+{y} vs {cap}"
    );
    assert_eq!(qs[2].output_limit(), x);
}

/// Answers prompts that start with "auto" on the VM thread; the rest are the driver's.
struct AutoPrefix;

impl alc_workbench::engine::InstantAnswers for AutoPrefix {
    fn answer_now(&self, query: &alc_workbench::engine::Query) -> Option<Answer> {
        query
            .prompt
            .starts_with("auto")
            .then(|| Answer::new(format!("A:{}", query.prompt), AnswerOrigin::Replay))
    }
}

/// The instant hook (`engine::instant`): its answers are given on the VM thread, after
/// the pause is published (every query still appears, before its answer), and only
/// the rest of a batch waits for the driver.
#[test]
fn instant_answers_are_given_in_the_pause_and_the_rest_wait_for_the_driver() {
    let mut cfg = config(
        "local a = alc.llm('auto 1')\n\
         local b = alc.llm_batch({'auto 2', 'person 3', 'auto 4'})\n\
         return {a = a, b = b}",
    );
    cfg.instant_answers = Some(alc_workbench::engine::InstantHook(std::sync::Arc::new(
        AutoPrefix,
    )));
    let (session, mut stream) = Session::start(cfg).expect("session starts");
    let mut events = Vec::new();
    let out = loop {
        let ev = stream.blocking_recv().expect("an end");
        events.push(ev.clone());
        match ev.event {
            SessionEvent::Paused { queries, .. } => {
                // What a driver does: skip what the hook answered.
                for q in queries.iter().filter(|q| !q.prompt.starts_with("auto")) {
                    session
                        .answer(&q.id, Answer::new("P", AnswerOrigin::Script))
                        .unwrap();
                }
            }
            SessionEvent::Finished(o) => break o,
            _ => {}
        }
    };
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(
        out.result.unwrap(),
        json!({"a": "A:auto 1", "b": ["A:auto 2", "P", "A:auto 4"]})
    );
    let order: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::Paused { queries, .. } => Some(
                queries
                    .iter()
                    .map(|q| format!("ask {}", q.id))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            SessionEvent::Answered { id, answer } => {
                Some(format!("{id}={}", answer.source.label()))
            }
            _ => None,
        })
        .collect();
    // Inline answers follow their pause's publication, in batch order; the driver's
    // answer to q-3 may land anywhere after the publication.
    assert_eq!(
        order[..3],
        ["ask q-1", "q-1=replay", "ask q-2 ask q-3 ask q-4"]
    );
    let inline: Vec<&String> = order[3..]
        .iter()
        .filter(|o| o.ends_with("=replay"))
        .collect();
    assert_eq!(inline, ["q-2=replay", "q-4=replay"]);
    assert!(order[3..].contains(&"q-3=script".to_string()), "{order:?}");
    assert_eq!(order.len(), 6, "{order:?}");
    assert_eq!(out.metrics.llm_calls, 4);
}

/// A query handed back to a model (`f5` after `ctrl-r`) stops the person's clock on
/// it: the time after `person_away` is the strategy's again, until `person_ready`.
#[test]
fn person_away_stops_the_persons_clock_until_ready_again() {
    let (session, mut events) = Session::start(config("return alc.llm('q')")).unwrap();
    let q = next_pause(&mut events);
    session.person_ready(&q).unwrap();
    let theirs = until_metrics(&session, |m| m.human_ms >= 100);
    session.person_away(&q);
    let away = session.metrics();
    // While the model drafts, wall time runs on and the person's stands still.
    let later = until_metrics(&session, |m| m.wall_ms >= away.wall_ms + 150);
    assert!(
        later.human_ms <= away.human_ms + 1,
        "{away:?} then {later:?}"
    );
    assert!(later.elapsed_ms >= away.elapsed_ms + 150, "{later:?}");
    assert!(away.human_ms >= theirs.human_ms);
    session.person_ready(&q).unwrap();
    until_metrics(&session, |m| m.human_ms >= away.human_ms + 50);
    session
        .answer(&q, Answer::new("done", AnswerOrigin::Provider))
        .unwrap();
}

/// The cap learns from the provider's counts: once a call reported more prompt tokens
/// than the engine estimated (a chat template's markers), later caps leave that much
/// room for each prompt, so a real model's answer ends inside the budget.
#[test]
fn the_cap_leaves_room_for_the_prompt_overhead_a_provider_reported() {
    let mut cfg = config(
        "local a = alc.llm('0123456789abcdefghij0123456789abcdefghij', {max_tokens = 100})\n\
         local b = alc.llm('0123456789abcdefghij0123456789abcdefghij', {max_tokens = 1000})\n\
         return 'ok'",
    );
    cfg.ctx = json!({"budget": {"max_tokens": 300}});
    let (session, mut events) = Session::start(cfg).unwrap();
    let mut caps = Vec::new();
    let out = loop {
        let ev = events.blocking_recv().expect("an end");
        match ev.event {
            SessionEvent::Paused { queries, .. } => {
                let q = &queries[0];
                caps.push(q.max_tokens_capped);
                // 40 characters: estimated 10 prompt tokens; the "server" says 40.
                let mut answer = Answer::new("x", AnswerOrigin::Provider);
                answer.usage = Some(alc_workbench::engine::Usage {
                    prompt_tokens: 40,
                    completion_tokens: 100,
                });
                session.answer(&q.id, answer).unwrap();
            }
            SessionEvent::Finished(o) => break o,
            _ => {}
        }
    };
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(caps[0], None, "100 fits in 300 less a 10-token prompt");
    // 300 - 140 used = 160 left; less the prompt: 10 estimated, 2 for the estimate's
    // error, and the 30 the server showed over the estimate.
    assert_eq!(caps[1], Some(118));
}
