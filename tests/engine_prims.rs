//! Layer 0 bindings seen from Lua: argument handling, defaults and errors of the
//! primitives whose pure logic is unit-tested in `engine::textops` / `state_store`.

mod support;

use alc_workbench::engine::{SessionEvent, Status};
use serde_json::json;
use support::*;

fn ok(code: &str) -> serde_json::Value {
    let out = eval(code);
    assert_eq!(out.status, Status::Completed, "{code}: {:?}", out.error);
    out.result.unwrap()
}

fn err(code: &str) -> String {
    let out = eval(code);
    assert_eq!(out.status, Status::Failed, "{code} should fail");
    out.error.unwrap().message
}

#[test]
fn json_round_trip_and_errors() {
    assert_eq!(
        ok("return alc.json_decode(alc.json_encode({a = {1, 2, 3}, b = 'x'}))"),
        json!({"a": [1, 2, 3], "b": "x"})
    );
    assert_eq!(
        ok("return alc.json_encode(alc.json_decode('[]'))"),
        json!("[]")
    );
    assert!(err("return alc.json_decode('{oops')").contains("invalid JSON"));
    // Functions cannot be JSON: encoding one is an error (mlua's default, as algocline).
    let e = err("return alc.json_encode({a = 1, f = print})");
    assert!(
        e.contains("alc.json_encode") && e.contains("function"),
        "{e}"
    );
    assert!(err("return alc.json_encode(print)").contains("alc.json_encode"));
    assert!(err("return alc.json_encode(coroutine.create(print))").contains("alc.json_encode"));
    let e = ok("local ok, e = pcall(alc.json_decode, 'nope'); return type(e)");
    assert_eq!(e, json!("string"));
}

#[test]
fn match_enum_and_match_bool_from_lua() {
    assert_eq!(
        ok("return alc.match_enum('I pick B, no wait, A', {'A', 'B'})"),
        json!("A")
    );
    assert_eq!(
        ok("return alc.match_enum('zzz', {'alpha'}) == nil"),
        json!(true)
    );
    assert_eq!(
        ok("return alc.match_enum('aplha', {'alpha'}, {threshold = 0.5})"),
        json!("alpha")
    );
    assert_eq!(ok("return alc.match_bool('no wait, yes')"), json!(true));
    assert_eq!(
        ok("return alc.match_bool('nothing here') == nil"),
        json!(true)
    );
    assert!(err("return alc.match_enum('x', 5)").contains("candidates"));
}

#[test]
fn chunk_defaults_and_modes() {
    assert_eq!(ok("return #alc.chunk(string.rep('l\\n', 120))"), json!(3));
    assert_eq!(
        ok("return alc.chunk('abcdefghij', {mode = 'chars', size = 4, overlap = 1})"),
        json!(["abcd", "defg", "ghij"])
    );
    assert_eq!(ok("return #alc.chunk('')"), json!(0));
    assert_eq!(ok("return #alc.chunk('abc', {size = 0})"), json!(0));
    assert!(err("return alc.chunk('x', {mode = 'words'})").contains("mode"));
}

#[test]
fn log_progress_stats_and_time_emit_events() {
    let (out, events) = run(
        "alc.log('error', 'bad')\nalc.log('shout', 'loud')\nalc.progress(2, 5, 'two')\nalc.stats.record('k', {a = 1})\nreturn {alc.stats.get('k'), alc.stats.get('none') == nil, alc.time() > 1.7e9}",
        |_| Ok(String::new()),
    );
    assert_eq!(out.result.unwrap(), json!([{"a": 1}, true, true]));
    let l = logs(&events);
    assert!(l.contains(&("error".into(), "bad".into())));
    assert!(
        l.contains(&("info".into(), "loud".into())),
        "unknown levels count as info"
    );
    assert!(events.iter().any(|e| matches!(&e.event, SessionEvent::Progress { step: 2, total: 5, msg: Some(m) } if m == "two")));
    assert!(events
        .iter()
        .any(|e| matches!(&e.event, SessionEvent::Stat { key, .. } if key == "k")));
    assert_eq!(out.metrics.stats["k"], json!({"a": 1}));
}

#[test]
fn state_api_from_lua() {
    let home = tempfile::tempdir().unwrap();
    let mut cfg = config(
        "alc.state.set('a', {x = 1})\nlocal first = alc.state.set_nx('b', 1)\nlocal second = alc.state.set_nx('b', 2)\nlocal n = alc.state.incr('c', 5)\nlocal bad = pcall(alc.state.incr, 'a')\nlocal ks = alc.state.keys()\nlocal had = alc.state.delete('b')\nreturn {a = alc.state.get('a'), first = first, second = second, n = n, bad = bad, keys = ks, had = had, has_b = alc.state.has('b'), dflt = alc.state.get('zz', 'd'), upd = alc.state.update('c', function(v) return v * 2 end)}",
    );
    cfg.alc_home = home.path().to_path_buf();
    cfg.ctx = json!({"_ns": "testns"});
    let (out, events) = run_config(cfg, |_| Ok(String::new()));
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(
        out.result.unwrap(),
        json!({"a": {"x": 1}, "first": true, "second": false, "n": 5, "bad": false, "keys": ["a", "b", "c"], "had": true, "has_b": false, "dflt": "d", "upd": 10})
    );
    assert!(home.path().join("state/testns.json").is_file());
    assert!(events.iter().any(|e| matches!(&e.event, SessionEvent::State { ns, op, .. } if ns == "testns" && op == "set_nx")));
}

#[test]
fn state_update_is_compare_and_swap_on_the_real_store() {
    // fn's first run writes the key itself, like a concurrent writer would: the swap
    // based on the value fn saw is refused and fn runs again on the newer value.
    let home = tempfile::tempdir().unwrap();
    let mut cfg = config(
        "alc.state.set('n', 1)\nlocal seen = {}\nlocal new = alc.state.update('n', function(n)\n  seen[#seen + 1] = n\n  if #seen == 1 then alc.state.set('n', 10) end\n  return n + 1\nend)\nlocal gone = alc.state.update('n', function() return nil end)\nreturn {seen = seen, new = new, now = alc.state.get('n', 'absent'), gone = gone == nil, hidden = rawget(alc.state, '_swap') == nil and rawget(alc.state, '_read') == nil}",
    );
    cfg.alc_home = home.path().to_path_buf();
    let (out, events) = run_config(cfg, |_| Ok(String::new()));
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(
        out.result.unwrap(),
        json!({"seen": [1, 10], "new": 11, "now": "absent", "gone": true, "hidden": true})
    );
    assert!(events.iter().any(
        |e| matches!(&e.event, SessionEvent::State { key, op, .. } if key == "n" && op == "update")
    ));
}

#[test]
fn corrupt_state_file_is_a_lua_error_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("default.json"), "{\"a\": oops}").unwrap();
    for code in [
        "return alc.state.get('a')",
        "return alc.state.incr('a')",
        "return alc.state.update('a', function(v) return v end)",
    ] {
        let mut cfg = config(code);
        cfg.alc_home = home.path().to_path_buf();
        let (out, _) = run_config(cfg, |_| Ok(String::new()));
        assert_eq!(out.status, Status::Failed, "{code}");
        let message = out.error.expect("an error").message;
        assert!(
            message.contains(&state.join("default.json").display().to_string())
                && message.contains("corrupt"),
            "{code}: {message}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(state.join("default.json")).unwrap(),
        "{\"a\": oops}"
    );
}

#[test]
fn llm_argument_errors_name_the_problem() {
    assert!(err("alc.llm({})").contains("alc.llm: prompt must be a string, got table"));
    assert!(err("alc.llm('x', 5)").contains("opts must be a table"));
    assert!(err("alc.llm('x', {max_tokens = 'many'})").contains("max_tokens"));
    assert!(err("alc.llm_batch('x')").contains("expected an array"));
    assert!(err("alc.fork({'../x'}, {})").contains("invalid package name"));
}

#[test]
fn llm_flags_reach_the_query() {
    let (_, events) = run(
        "alc.llm('p', {grounded = true, underspecified = true, max_tokens = 7.0})\nalc.ground('g')\nalc.specify('s')\nreturn 1",
        |_| Ok("a".into()),
    );
    let qs = queries(&events);
    assert!(qs[0].grounded && qs[0].underspecified && qs[0].max_tokens == 7);
    assert!(qs[1].grounded && !qs[1].underspecified);
    assert!(qs[2].underspecified && !qs[2].grounded);
}

#[test]
fn json_null_is_the_null_sentinel_both_ways() {
    let r = ok(r#"
        local t = alc.json_decode('{"a": null, "k": 1, "list": [1, null, 3]}')
        local keys = {}
        for k in pairs(t) do keys[#keys + 1] = k end
        table.sort(keys)
        return {
            kind = type(t.a),
            is_null = t.a == alc.json_decode('null'),
            keys = table.concat(keys, ","),
            again = alc.json_encode(t),
        }"#);
    assert_eq!(r["kind"], json!("userdata"));
    assert_eq!(r["is_null"], json!(true));
    assert_eq!(r["keys"], json!("a,k,list"), "a null keeps its key");
    let again: serde_json::Value = serde_json::from_str(r["again"].as_str().unwrap()).unwrap();
    assert_eq!(again, json!({"a": null, "k": 1, "list": [1, null, 3]}));
}

#[test]
fn engine_made_arrays_encode_as_arrays_even_when_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        r#"return {
            chunk = alc.json_encode(alc.chunk("")),
            chunks = alc.json_encode(alc.chunk("a" .. string.char(10) .. "b", {size = 1})),
            keys = alc.json_encode(alc.state.keys()),
            batch = alc.json_encode(alc.llm_batch({"x"})),
            mine = alc.json_encode({}),
        }"#,
    );
    cfg.alc_home = dir.path().to_path_buf();
    cfg.ctx = json!({"_ns": "arrays"});
    let (out, _) = run_config(cfg, |_| Ok("y".into()));
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    assert_eq!(
        out.result.unwrap(),
        json!({"chunk": "[]", "chunks": "[\"a\",\"b\"]", "keys": "[]", "batch": "[\"y\"]", "mine": "{}"})
    );
}

#[test]
fn fork_on_error_skip_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        (
            "good",
            "return {run = function(ctx) return {v = ctx.n * 2} end}",
        ),
        ("bad", "return {run = function(ctx) error('nope') end}"),
    ] {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("init.lua"), body).unwrap();
    }
    let script = dir.path().join("main.lua");
    std::fs::write(
        &script,
        "local r = alc.fork({'good', 'bad'}, {n = 21})\n\
         local ok, e = pcall(alc.fork, {'bad'}, {}, {on_error = 'fail'})\n\
         local ok2, e2 = pcall(alc.fork, {'bad'}, {}, {on_error = 'abort'})\n\
         local other = alc.fork({'bad'}, {}, {on_error = 'maybe'})\n\
         local none = alc.fork({'good'}, {n = 1}, {on_error = 3})\n\
         return {r = r, ok = ok, e = e, ok2 = ok2, e2 = e2, other = other, none = none, \
                 empty = alc.json_encode(other)}",
    )
    .unwrap();
    let cfg =
        alc_workbench::engine::SessionConfig::new(alc_workbench::engine::ScriptSpec::File(script));
    let (out, _) = run_config(cfg, |_| Ok(String::new()));
    let r = out.result.unwrap();
    assert_eq!(
        r["r"][0],
        json!({"strategy": "good", "ok": true, "result": {"v": 42}})
    );
    assert_eq!(r["r"][1]["ok"], json!(false));
    assert!(r["r"][1]["error"].as_str().unwrap().contains("nope"));
    assert_eq!(r["ok"], json!(false), "\"fail\" is an alias of \"abort\"");
    assert!(r["e"].as_str().unwrap().contains("bad failed"));
    assert_eq!(
        r["ok2"],
        json!(false),
        "\"abort\" raises the first child error"
    );
    assert!(r["e2"].as_str().unwrap().contains("alc.fork: bad failed"));
    assert_eq!(r["other"][0]["ok"], json!(false), "any other value skips");
    assert_eq!(r["none"][0]["ok"], json!(true));
    assert!(
        r["empty"].as_str().unwrap().starts_with("[{"),
        "fork results are an array"
    );
}
