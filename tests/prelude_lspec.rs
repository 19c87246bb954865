//! Layer 1 (`src/engine/prelude.lua`) specs, run under mlua-lspec twice: on a stub
//! Layer 0, and on the real one (a real session, see [`run_spec_on_real_layer0`]).
//!
//! [`install_stub_layer0`] builds just enough of Layer 0 — scripted `alc.llm` answers that
//! record every call, `llm_batch`, serde_json-backed `json_encode`/`json_decode`, an
//! in-memory `alc.state`, a settable `budget_remaining`, recorded logs, and the
//! metatable that makes unknown `alc.*` names raise. Swap that one function for the
//! real engine's registration to run the same specs against it. The Lua side of the
//! stub is driven from the specs through the global `stub` table.
//!
//! This file touches nothing outside its own Lua VMs.

use std::sync::Arc;

use alc_workbench::engine::{
    Answer, AnswerOrigin, RootVmSetup, ScriptSpec, Session, SessionConfig, SessionEvent, Status,
};
use mlua::{Lua, LuaSerdeExt, Result as LuaResult, Table, Value};
use mlua_lspec::{TestResult, TestSummary};

const PRELUDE: &str = include_str!("../src/engine/prelude.lua");
const PURE_SPEC: &str = include_str!("lua/prelude_spec.lua");
const LLM_SPEC: &str = include_str!("lua/prelude_llm_spec.lua");

/// Every name Layer 1 adds to `alc` (ALC_API.md, "Layer 1: the prelude").
const LAYER1_NAMES: &[&str] = &[
    "map",
    "reduce",
    "filter",
    "vote",
    "parallel",
    "cache",
    "cache_info",
    "cache_clear",
    "llm_safe",
    "llm_json",
    "json_extract",
    "parse_score",
    "parse_number",
    "ground",
    "specify",
    "fingerprint",
    "budget_check",
    "tuning",
    "pipe",
];

/// The Lua half of the stub Layer 0. `stub.reset()` restores a clean slate; specs
/// script answers in `stub.answers` (a string, or `{error = "..."}` to raise) or set
/// `stub.responder(prompt, opts)`, and read `stub.calls`, `stub.batches`, `stub.logs`.
const STUB_LAYER0: &str = r#"
stub = {}
function stub.reset()
    stub.answers, stub.responder = {}, nil
    stub.calls, stub.batches, stub.logs = {}, {}, {}
    stub.budget, stub.store, stub.versions = nil, {}, {}
end
stub.reset()

local function answer_for(prompt, opts)
    if stub.responder then return stub.responder(prompt, opts) end
    local answer = table.remove(stub.answers, 1)
    if answer == nil then error("stub: no scripted answer for " .. tostring(prompt), 0) end
    if type(answer) == "table" then error(answer.error, 0) end
    return answer
end

alc = {}
function alc.llm(prompt, opts)
    stub.calls[#stub.calls + 1] = { prompt = prompt, opts = opts }
    return answer_for(prompt, opts)
end
function alc.llm_batch(items)
    if #items == 0 then error("alc.llm_batch: empty batch", 0) end
    stub.batches[#stub.batches + 1] = items
    local answers = {}
    for i, item in ipairs(items) do answers[i] = answer_for(item.prompt, item) end
    return answers
end
function alc.log(level, msg) stub.logs[#stub.logs + 1] = { level = level, msg = msg } end
function alc.budget_remaining() return stub.budget end
function alc.time() return os.time() end
-- Versions count writes per key, like the real store's compare-and-swap versions.
local function written(k) stub.versions[k] = (stub.versions[k] or 0) + 1 end
local function version(k)
    if stub.store[k] == nil then return nil end
    return tostring(stub.versions[k] or 0)
end
alc.state = {
    get = function(k, default) local v = stub.store[k]; if v == nil then return default end; return v end,
    set = function(k, v) stub.store[k] = v; written(k) end,
    delete = function(k) stub.store[k] = nil; written(k) end,
    has = function(k) return stub.store[k] ~= nil end,
    _read = function(k) return stub.store[k], version(k) end,
    _swap = function(k, seen, new)
        if version(k) ~= seen then return false end
        stub.store[k] = new; written(k)
        return true
    end,
}
setmetatable(alc, { __index = function(_, name)
    error("alc." .. tostring(name) .. " is not available in this engine", 2)
end })
ctx = { task = "stub task" }
"#;

/// Installs the stub Layer 0 (globals `alc`, `ctx`, `stub`) into `lua`.
fn install_stub_layer0(lua: &Lua) -> LuaResult<()> {
    lua.load(STUB_LAYER0).set_name("=stub:layer0").exec()?;
    let alc: Table = lua.globals().get("alc")?;
    let encode = lua.create_function(|lua, value: Value| {
        let json: serde_json::Value = lua.from_value(value)?;
        serde_json::to_string(&json).map_err(mlua::Error::external)
    })?;
    let decode = lua.create_function(|lua, text: String| {
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| mlua::Error::runtime(format!("json_decode: {e}")))?;
        lua.to_value(&json)
    })?;
    alc.raw_set("json_encode", encode)?;
    alc.raw_set("json_decode", decode)?;
    Ok(())
}

fn load_prelude(lua: &Lua) -> LuaResult<()> {
    lua.load(PRELUDE).set_name("=alc:prelude").exec()
}

/// Reference fingerprint computed independently of the Lua code: ASCII lowercase,
/// runs of Lua `%s` whitespace (space, \t, \n, \v, \f, \r) become one space, trim,
/// then DJB2 (h = 5381; h = h * 33 + byte, modulo 2^32) as 8 lowercase hex digits.
fn fingerprint_reference(text: &str) -> String {
    let is_lua_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut normal: Vec<u8> = Vec::with_capacity(text.len());
    let mut in_space = false;
    for b in text.bytes().map(|b| b.to_ascii_lowercase()) {
        if is_lua_space(b) {
            in_space = true;
            continue;
        }
        if in_space && !normal.is_empty() {
            normal.push(b' ');
        }
        in_space = false;
        normal.push(b);
    }
    let hash = normal.iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    });
    format!("{hash:08x}")
}

const FINGERPRINT_INPUTS: &[&str] = &[
    "",
    "a",
    "Hello World",
    "  Fix the   Login\tBug \n",
    "line one\r\nline two\x0b\x0cend",
    "Ünïcödé bytes stay as they are",
    "The quick brown fox jumps over the lazy dog, 1234567890 times!",
];

/// Runs one spec file on a fresh VM prepared by `install_layer0` + the prelude.
fn run_spec(
    install_layer0: fn(&Lua) -> LuaResult<()>,
    chunk_name: &str,
    spec: &str,
) -> Result<TestSummary, String> {
    let lua = Lua::new();
    let fail = |stage: &str, e: mlua::Error| format!("{chunk_name}: {stage}: {e}");
    install_layer0(&lua).map_err(|e| fail("installing Layer 0", e))?;
    load_prelude(&lua).map_err(|e| fail("loading the prelude", e))?;
    mlua_lspec::register(&lua).map_err(|e| fail("registering lust", e))?;
    mlua_lspec::register_doubles(&lua).map_err(|e| fail("registering doubles", e))?;
    // lust prints through Lua's print, which writes to the real stdout and would
    // bypass the test harness's capture; results are collected structurally instead.
    let silent = lua
        .create_function(|_, _: mlua::Variadic<Value>| Ok(()))
        .map_err(|e| fail("silencing print", e))?;
    lua.globals()
        .set("print", silent)
        .map_err(|e| fail("silencing print", e))?;
    let expected = lua.create_table().map_err(|e| fail("fingerprints", e))?;
    for (i, input) in FINGERPRINT_INPUTS.iter().enumerate() {
        let pair = lua
            .create_sequence_from([*input, fingerprint_reference(input).as_str()])
            .map_err(|e| fail("fingerprints", e))?;
        expected
            .raw_set(i + 1, pair)
            .map_err(|e| fail("fingerprints", e))?;
    }
    lua.globals()
        .set("expected_fingerprints", expected)
        .map_err(|e| fail("fingerprints", e))?;
    lua.load(spec)
        .set_name(chunk_name)
        .exec()
        .map_err(|e| fail("running the spec", e))?;
    mlua_lspec::collect_results(&lua).map_err(|e| fail("collecting results", e))
}

/// Number of `it("...")` blocks written in a spec file, so a spec that silently stops
/// early (or never loads) is caught by comparing against the reported total.
fn written_specs(spec: &str) -> usize {
    spec.lines()
        .filter(|line| line.trim_start().starts_with("it(\""))
        .count()
}

/// The spec controls on the real Layer 0: the same `stub` table, but every scripted
/// answer goes through a real pause of the real `alc.llm` / `alc.llm_batch` (the test
/// answers each query with the scripted text, or fails it with the scripted error), so
/// budgets, errors and array results are the engine's. JSON, state, logs, time and the
/// unknown-name rule are the real ones; only `budget_remaining` is scripted (specs set
/// arbitrary budgets), and logs are also recorded for the specs to read.
const REAL_LAYER0_HARNESS: &str = r#"
stub = {}
local real = { llm = alc.llm, llm_batch = alc.llm_batch, log = alc.log }
function stub.reset()
    stub.answers, stub.responder = {}, nil
    stub.calls, stub.batches, stub.logs = {}, {}, {}
    stub.budget = nil
end
stub.reset()

local function scripted(prompt, opts)
    if stub.responder then return stub.responder(prompt, opts) end
    local answer = table.remove(stub.answers, 1)
    if answer == nil then error("stub: no scripted answer for " .. tostring(prompt), 0) end
    return answer
end

-- The query the test driver answers with `answer` (or fails with its error).
local function encoded(answer)
    if type(answer) == "table" then return "\1error:" .. tostring(answer.error) end
    return "\1answer:" .. tostring(answer)
end

rawset(alc, "llm", function(prompt, opts)
    stub.calls[#stub.calls + 1] = { prompt = prompt, opts = opts }
    return real.llm(encoded(scripted(prompt, opts)))
end)
rawset(alc, "llm_batch", function(items)
    if type(items) == "table" and #items > 0 then
        stub.batches[#stub.batches + 1] = items
    end
    local asks = {}
    for i, item in ipairs(items) do asks[i] = encoded(scripted(item.prompt, item)) end
    return real.llm_batch(asks)
end)
rawset(alc, "log", function(level, msg)
    stub.logs[#stub.logs + 1] = { level = level, msg = msg }
    return real.log(level, msg)
end)
rawset(alc, "budget_remaining", function() return stub.budget end)
"#;

/// Runs one spec file as a real session: the real three layers, lust added to the
/// root VM, the harness above, then the spec; the chunk returns lust's results.
fn run_spec_on_real_layer0(chunk_name: &str, spec: &str) -> Result<TestSummary, String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let code = format!("{REAL_LAYER0_HARNESS}\n{spec}\nreturn lust.get_results()\n");
    let mut config = SessionConfig::new(ScriptSpec::Inline {
        name: chunk_name.trim_start_matches('@').to_string(),
        code,
    });
    config.ctx = serde_json::json!({"task": "stub task"});
    config.alc_home = home.path().to_path_buf();
    config.seed = Some(1);
    config.root_vm_setup = Some(RootVmSetup(Arc::new(|lua: &Lua| {
        mlua_lspec::register(lua)?;
        mlua_lspec::register_doubles(lua)?;
        let expected = lua.create_table()?;
        for (i, input) in FINGERPRINT_INPUTS.iter().enumerate() {
            let pair = lua.create_sequence_from([*input, fingerprint_reference(input).as_str()])?;
            expected.raw_set(i + 1, pair)?;
        }
        lua.globals().set("expected_fingerprints", expected)
    })));
    let (session, mut events) = Session::start(config).map_err(|e| e.to_string())?;
    let outcome = loop {
        let Some(stamped) = events.blocking_recv() else {
            return Err("the session ended without an outcome".into());
        };
        match stamped.event {
            SessionEvent::Paused { queries, .. } => {
                for q in queries {
                    let done = if let Some(text) = q.prompt.strip_prefix("\u{1}answer:") {
                        session.answer(&q.id, Answer::new(text, AnswerOrigin::Script))
                    } else if let Some(error) = q.prompt.strip_prefix("\u{1}error:") {
                        session.fail(&q.id, error)
                    } else {
                        session.fail(&q.id, "the harness asked an unscripted query")
                    };
                    done.map_err(|e| e.to_string())?;
                }
            }
            SessionEvent::Finished(outcome) => break outcome,
            _ => {}
        }
    };
    if outcome.status != Status::Completed {
        return Err(format!(
            "{chunk_name}: the spec run failed: {:?}",
            outcome.error
        ));
    }
    let r = outcome.result.unwrap_or_default();
    let count = |k: &str| r[k].as_u64().unwrap_or_default() as usize;
    let tests = r["tests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| TestResult {
            suite: t["suite"].as_str().unwrap_or_default().to_string(),
            name: t["name"].as_str().unwrap_or_default().to_string(),
            passed: t["passed"].as_bool().unwrap_or(false),
            error: t["error"].as_str().map(str::to_string),
        })
        .collect();
    Ok(TestSummary {
        passed: count("passed"),
        failed: count("failed"),
        total: count("total"),
        tests,
    })
}

fn assert_all_passed(chunk_name: &str, spec: &str) {
    check_summary(
        chunk_name,
        spec,
        run_spec(install_stub_layer0, chunk_name, spec),
    );
}

fn check_summary(chunk_name: &str, spec: &str, summary: Result<TestSummary, String>) {
    let summary = match summary {
        Ok(summary) => summary,
        Err(e) => panic!("{e}"),
    };
    let failures: Vec<String> = summary
        .tests
        .iter()
        .filter(|t| !t.passed)
        .map(|t| {
            let error = t.error.as_deref().unwrap_or("(no message)");
            format!("  {} > {}: {}", t.suite, t.name, error)
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{chunk_name}: {} of {} specs failed:\n{}",
        summary.failed,
        summary.total,
        failures.join("\n")
    );
    assert_eq!(summary.failed, 0);
    let written = written_specs(spec);
    assert!(
        written > 0 && summary.total >= written,
        "{chunk_name}: ran {} specs but the file has {written}",
        summary.total
    );
}

#[test]
fn pure_prelude_specs_pass_on_stub_layer0() {
    assert_all_passed("@tests/lua/prelude_spec.lua", PURE_SPEC);
}

#[test]
fn llm_prelude_specs_pass_on_stub_layer0() {
    assert_all_passed("@tests/lua/prelude_llm_spec.lua", LLM_SPEC);
}

#[test]
fn pure_prelude_specs_pass_on_the_real_layer0() {
    let name = "@tests/lua/prelude_spec.lua";
    check_summary(name, PURE_SPEC, run_spec_on_real_layer0(name, PURE_SPEC));
}

#[test]
fn llm_prelude_specs_pass_on_the_real_layer0() {
    let name = "@tests/lua/prelude_llm_spec.lua";
    check_summary(name, LLM_SPEC, run_spec_on_real_layer0(name, LLM_SPEC));
}

#[test]
fn prelude_defines_every_layer1_name_as_a_function() {
    let lua = Lua::new();
    install_stub_layer0(&lua).expect("stub Layer 0 installs");
    load_prelude(&lua).expect("prelude loads");
    let alc: Table = lua.globals().get("alc").expect("alc exists");
    for name in LAYER1_NAMES {
        let value: Value = alc.raw_get(*name).expect("raw_get works");
        assert!(
            value.is_function(),
            "alc.{name} is {value:?}, not a function"
        );
    }
    let state: Table = alc.raw_get("state").expect("alc.state exists");
    let update: Value = state.raw_get("update").expect("raw_get works");
    assert!(update.is_function(), "alc.state.update is {update:?}");
}

#[test]
fn prelude_keeps_unknown_names_an_error() {
    let lua = Lua::new();
    install_stub_layer0(&lua).expect("stub Layer 0 installs");
    load_prelude(&lua).expect("prelude loads");
    let err = lua
        .load("return alc.card_create")
        .eval::<Value>()
        .expect_err("an unknown alc name must raise");
    assert!(err.to_string().contains("alc.card_create"), "{err}");
}

#[test]
fn prelude_refuses_to_load_without_layer0() {
    let lua = Lua::new();
    let err = load_prelude(&lua).expect_err("no alc table: the prelude must refuse");
    assert!(err.to_string().contains("alc:prelude"), "{err}");
}

#[test]
fn fingerprint_reference_matches_hand_computed_djb2() {
    // 5381 = 0x1505; 5381 * 33 + 'a' (97) = 177670 = 0x2b606.
    assert_eq!(fingerprint_reference(""), "00001505");
    assert_eq!(fingerprint_reference("a"), "0002b606");
    assert_eq!(fingerprint_reference("  A \t"), "0002b606");
    assert_eq!(
        fingerprint_reference("fix  THE\nbug"),
        fingerprint_reference("fix the bug")
    );
}
