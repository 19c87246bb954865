//! Nothing a strategy does aborts the process: deep values, huge values, memory
//! bombs (root and fork child), metamethods that raise inside the engine's own
//! conversions, and a finished session's VMs are dropped (memory goes back).

mod support;

use std::time::Duration;

use alc_workbench::engine::{Outcome, ScriptSpec, Session, SessionConfig, SessionEvent, Status};
use serde_json::json;
use support::*;

const DEEP: &str = "nested deeper than 100 levels";

fn failed(out: &Outcome) -> String {
    assert_eq!(out.status, Status::Failed, "expected a failure: {out:?}");
    out.error.as_ref().unwrap().message.clone()
}

fn completed(out: Outcome) -> serde_json::Value {
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    out.result.unwrap()
}

/// Lua that builds a table `n` levels deep in `t`.
fn deep(n: usize) -> String {
    format!("local t = {{}}\nfor i = 1, {n} do t = {{t}} end\n")
}

#[test]
fn deep_results_are_a_clear_error() {
    for n in [1_000, 100_000] {
        let msg = failed(&eval(&format!("{}return t", deep(n))));
        assert!(
            msg.contains("result cannot be converted to JSON") && msg.contains(DEEP),
            "{msg}"
        );
    }
}

#[test]
fn deep_values_in_every_conversion_are_a_clear_lua_error() {
    let dir = tempfile::tempdir().unwrap();
    for call in [
        "alc.json_encode(t)",
        "alc.state.set('k', t)",
        "alc.stats.record('k', t)",
        "alc.fork({'cot'}, {t = t})",
        "alc.state.set_nx('deep', t)",
    ] {
        let mut cfg = config(&format!(
            "{}local ok, e = pcall(function() return {call} end)\nreturn {{ok = ok, e = e}}",
            deep(100_000)
        ));
        cfg.alc_home = dir.path().to_path_buf();
        let (out, _) = run_config(cfg, |_| Ok(String::new()));
        let r = completed(out);
        assert_eq!(r["ok"], json!(false), "{call}");
        assert!(r["e"].as_str().unwrap().contains(DEEP), "{call}: {r}");
    }
    let deep_text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let msg = failed(&eval(&format!("return alc.json_decode({deep_text:?})")));
    assert!(
        msg.contains("alc.json_decode: ") && msg.contains(DEEP),
        "{msg}"
    );
}

#[test]
fn values_at_the_limit_round_trip_through_state_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&format!(
        "{}alc.state.set('k', t)\nlocal back = alc.json_decode(alc.json_encode(alc.state.get('k')))\nlocal n = 0\nwhile type(back) == 'table' do n = n + 1 back = back[1] end\nreturn n",
        deep(99)
    ));
    cfg.alc_home = dir.path().to_path_buf();
    let (out, _) = run_config(cfg, |_| Ok(String::new()));
    assert_eq!(completed(out), json!(100));
}

#[test]
fn exponentially_shared_tables_are_refused_before_they_fill_memory() {
    let mut cfg =
        config("local t = {'leaf'}\nfor i = 1, 60 do t = {t, t} end\nreturn alc.json_encode(t)");
    cfg.memory_limit = 16 * 1024 * 1024;
    let (out, _) = run_config(cfg, |_| Ok(String::new()));
    let msg = failed(&out);
    assert!(
        msg.contains("value too large to convert to JSON (over 16 MiB"),
        "{msg}"
    );
}

#[test]
fn a_memory_bomb_is_a_clear_error_in_the_root_vm() {
    let mut cfg = config("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end");
    cfg.memory_limit = 32 * 1024 * 1024;
    let (out, _) = run_config(cfg, |_| Ok(String::new()));
    let msg = failed(&out);
    assert!(msg.contains("Lua memory limit of 32 MiB exceeded"), "{msg}");
}

#[test]
fn a_memory_bomb_in_a_fork_child_fails_that_child_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bomb")).unwrap();
    std::fs::write(
        dir.path().join("bomb/init.lua"),
        "return {run = function(ctx) local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 1000) .. i end end}",
    )
    .unwrap();
    let script = dir.path().join("main.lua");
    std::fs::write(
        &script,
        "local r = alc.fork({'bomb'}, {})\nreturn {ok = r[1].ok, e = r[1].error}",
    )
    .unwrap();
    let mut cfg = SessionConfig::new(ScriptSpec::File(script));
    cfg.memory_limit = 32 * 1024 * 1024;
    cfg.alc_home = dir.path().join("home");
    let (session, events) = Session::start(cfg).unwrap();
    let (out, _) = drive(&session, events, |_| Ok(String::new()));
    let r = completed(out);
    assert_eq!(r["ok"], json!(false));
    assert!(r["e"].as_str().unwrap().contains("memory limit"), "{r}");
    assert!(session.wait_vms_closed(Duration::from_secs(10)));
}

#[test]
fn metamethods_that_raise_inside_engine_conversions_are_lua_errors() {
    let boom =
        "local t = setmetatable({}, {__tostring = function() error('boom in tostring') end})\n";
    for call in [
        "print(t)",
        "alc.log('info', t)",
        "alc.progress(1, 2, t)",
        "alc.match_enum('x', {t})",
    ] {
        let msg = failed(&eval(&format!("{boom}{call}")));
        assert!(msg.contains("boom in tostring"), "{call}: {msg}");
    }
    let msg = failed(&eval(
        "print(setmetatable({}, {__tostring = function() return {} end}))",
    ));
    assert!(msg.contains("'__tostring' must return a string"), "{msg}");
    // __tostring that calls print again: Lua's own C-stack limit, not a Rust overflow.
    let msg = failed(&eval(
        "local t\nt = setmetatable({}, {__tostring = function(s) print(s) return 'x' end})\nprint(t)",
    ));
    assert!(msg.contains("stack overflow"), "{msg}");
    // Conversions read tables raw: raising __index, __pairs and __len are not called.
    let raising = "local mt = {__index = function() error('index') end, __pairs = function() error('pairs') end, __len = function() error('len') end, __tostring = function() error('tostring') end}\nlocal t = setmetatable({a = 1, list = setmetatable({1, 2}, mt)}, mt)\n";
    assert_eq!(
        completed(eval(&format!(
            "{raising}return {{enc = alc.json_encode(t), res = t}}"
        ))),
        json!({"enc": "{\"a\":1,\"list\":[1,2]}", "res": {"a": 1, "list": [1, 2]}})
    );
    // A strategy replacing tostring does not break print.
    let (out, events) = run(
        "tostring = function() error('replaced') end\nprint('still', 1)\nreturn true",
        |_| Ok(String::new()),
    );
    assert_eq!(completed(out), json!(true));
    assert!(logs(&events).contains(&("info".into(), "still\t1".into())));
}

#[test]
fn a_cancelled_memory_hog_drops_its_vm_while_the_session_handle_lives() {
    let (session, mut events) = Session::start(config(
        "big = {}\nfor i = 1, 200 do big[i] = string.rep('z', 100000) .. i end\nalc.log('info', 'holding')\nwhile true do end",
    ))
    .unwrap();
    loop {
        if let SessionEvent::Log { msg, .. } = events.blocking_recv().unwrap().event {
            if msg == "holding" {
                break;
            }
        }
    }
    session.cancel();
    loop {
        if let SessionEvent::Finished(o) = events.blocking_recv().unwrap().event {
            assert_eq!(o.status, Status::Cancelled);
            break;
        }
    }
    assert!(
        session.wait_vms_closed(Duration::from_secs(10)),
        "the VM outlived its run"
    );
    // A completed session too, and a fresh run works after.
    let (s2, e2) = Session::start(config("return 1")).unwrap();
    let (out, _) = drive(&s2, e2, |_| Ok(String::new()));
    assert_eq!(completed(out), json!(1));
    assert!(s2.wait_vms_closed(Duration::from_secs(10)));
}
