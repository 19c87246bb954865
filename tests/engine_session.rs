//! Engine tests that run Lua: pauses, batches, errors, cancellation, isolation.

mod support;

use std::time::Duration;

use alc_workbench::engine::{Session, SessionEvent, Status};
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

#[test]
fn person_time_is_not_charged_to_elapsed() {
    let (session, mut events) = Session::start(config("return alc.llm('think')")).unwrap();
    let id = loop {
        if let SessionEvent::Paused { queries, .. } = events.blocking_recv().unwrap().event {
            break queries[0].id.clone();
        }
    };
    // A person "thinks" for a measurable time; the wait is what is being measured,
    // not a synchronisation.
    std::thread::sleep(Duration::from_millis(120));
    session
        .answer(
            &id,
            alc_workbench::engine::Answer::new("done", alc_workbench::engine::AnswerOrigin::Human),
        )
        .unwrap();
    let (out, _) = drive(&session, events, |_| Ok(String::new()));
    assert!(out.metrics.human_ms >= 100, "{:?}", out.metrics);
    assert!(out.metrics.elapsed_ms + out.metrics.human_ms <= out.metrics.wall_ms + 1);
    assert!(out.metrics.elapsed_ms < 100, "{:?}", out.metrics);
}
