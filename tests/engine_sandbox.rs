//! The sandbox of ALC_API.md ("What a strategy may touch"), each rule tried by a
//! hostile strategy on the real engine: refused with a message naming the rule (and
//! the flag that lifts it), allowed where the flag says so, in the root VM and in
//! fork children alike.

mod support;

use std::path::Path;

use alc_workbench::engine::{Outcome, ScriptSpec, Session, SessionConfig, SessionEvent, Status};
use serde_json::json;
use support::*;

fn failed(out: &Outcome) -> String {
    assert_eq!(out.status, Status::Failed, "expected a failure: {out:?}");
    out.error.as_ref().unwrap().message.clone()
}

fn completed(out: Outcome) -> serde_json::Value {
    assert_eq!(out.status, Status::Completed, "{:?}", out.error);
    out.result.unwrap()
}

/// Writes `packages` (name → init.lua text) and `main.lua` into a fresh directory.
fn project(main: &str, packages: &[(&str, &str)]) -> (tempfile::TempDir, SessionConfig) {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in packages {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("init.lua"), body).unwrap();
    }
    let script = dir.path().join("main.lua");
    std::fs::write(&script, main).unwrap();
    let mut cfg = SessionConfig::new(ScriptSpec::File(script));
    cfg.seed = Some(1);
    cfg.alc_home = dir.path().join("home");
    (dir, cfg)
}

fn eval_config(cfg: SessionConfig) -> (Outcome, Vec<alc_workbench::engine::Stamped>) {
    run_config(cfg, |q| panic!("unexpected query {q:?}"))
}

#[test]
fn os_exit_ends_the_session_as_failed_and_pcall_cannot_swallow_it() {
    let out = eval("local x = 1\nos.exit(3)\nreturn 'went on'");
    let msg = failed(&out);
    assert_eq!(msg, "os.exit called (code 3): the strategy ended itself");
    assert_eq!(out.error.unwrap().site.unwrap().line, 2);
    for code in [
        "local ok = pcall(os.exit, 2)\nreturn 'swallowed'",
        "for i = 1, 3 do pcall(function() os.exit(true) end) end\nreturn 'swallowed'",
        "local ok = xpcall(os.exit, function(e) return e end, false)\nreturn 'swallowed'",
        "local co = coroutine.wrap(function() os.exit(5) end)\nlocal ok = pcall(co)\nreturn 'swallowed'",
        "local co = coroutine.create(function() os.exit(6) end)\ncoroutine.resume(co)\nreturn 'swallowed'",
    ] {
        let out = eval(code);
        let msg = failed(&out);
        assert!(
            msg.starts_with("os.exit called (code ") && msg.ends_with("the strategy ended itself"),
            "{code}: {msg}"
        );
    }
    let msg = failed(&eval("os.exit(false)"));
    assert!(msg.contains("(code 1)"), "{msg}");
    let msg = failed(&eval("os.exit()"));
    assert!(msg.contains("(code 0)"), "{msg}");
}

#[test]
fn processes_are_refused_without_allow_exec() {
    let out = eval("local x = 1\nlocal p = io.popen('echo hi')\nreturn p:read('a')");
    let msg = failed(&out);
    assert!(
        msg.ends_with(
            "io.popen is disabled in the sandbox (start the workbench with --allow-exec to allow it)"
        ),
        "{msg}"
    );
    assert!(msg.starts_with("test.lua:2:"), "{msg}");
    let msg = failed(&eval(
        "os.execute('touch /tmp/alc-sandbox-should-not-exist')",
    ));
    assert!(
        msg.contains("os.execute is disabled in the sandbox")
            && msg.contains("--allow-exec to allow it"),
        "{msg}"
    );
    assert!(!Path::new("/tmp/alc-sandbox-should-not-exist").exists());
    // Asking whether a shell exists is answered, not refused.
    assert_eq!(completed(eval("return os.execute() == false")), json!(true));
}

#[test]
fn processes_run_with_allow_exec_and_their_output_is_captured() {
    let mut cfg = config(
        "local hi = io.popen('echo hi'):read('a')\nlocal ok, how, code = os.execute('echo out; echo err 1>&2; exit 3')\nreturn {hi = hi, ok = ok == nil, how = how, code = code, shell = os.execute()}",
    );
    cfg.allow_exec = true;
    let (out, events) = run_config(cfg, |_| Ok(String::new()));
    assert_eq!(
        completed(out),
        json!({"hi": "hi\n", "ok": true, "how": "exit", "code": 3, "shell": true})
    );
    let logs = logs(&events);
    assert!(logs.contains(&("info".into(), "out".into())), "{logs:?}");
    assert!(logs.contains(&("warn".into(), "err".into())), "{logs:?}");
}

#[test]
fn fork_children_get_the_same_sandbox() {
    let (_dir, cfg) = project(
        "local r = alc.fork({'popen', 'plain'}, {})\nreturn r",
        &[
            (
                "popen",
                "return {run = function(ctx) return io.popen('echo child'):read('a') end}",
            ),
            (
                "plain",
                "return {run = function(ctx) return {home = os.getenv('HOME') ~= nil, t = os.getenv('GITHUB_TOKEN')} end}",
            ),
        ],
    );
    let r = completed(eval_config(cfg.clone()).0);
    assert_eq!(r[0]["ok"], json!(false));
    let err = r[0]["error"].as_str().unwrap();
    assert!(
        err.contains("io.popen is disabled in the sandbox") && err.contains("--allow-exec"),
        "{err}"
    );
    assert_eq!(r[1]["result"], json!({"home": true}));
    let mut allowed = cfg;
    allowed.allow_exec = true;
    let r = completed(eval_config(allowed).0);
    assert_eq!(r[0]["result"], json!("child\n"), "{r}");
}

#[test]
fn os_exit_in_a_fork_child_ends_the_whole_session() {
    let (_dir, cfg) = project(
        "local r = alc.fork({'quitter'}, {})\nreturn 'went on'",
        &[(
            "quitter",
            "return {run = function(ctx) pcall(os.exit, 4) return 'went on' end}",
        )],
    );
    let msg = failed(&eval_config(cfg).0);
    assert_eq!(
        msg,
        "os.exit called (code 4) in forked package quitter: the strategy ended itself"
    );
}

#[test]
fn getenv_hides_secrets_and_shows_ordinary_variables() {
    // Names unique to this test: the process environment is shared by all tests.
    std::env::set_var("ALC_SANDBOX_TEST_API_TOKEN", "s3cret-token-value");
    std::env::set_var("alc_sandbox_test_password", "hunter22");
    std::env::set_var("ALC_SANDBOX_TEST_LLM", "configured-key-value");
    std::env::set_var("ALC_SANDBOX_TEST_PLAIN", "visible");
    let mut cfg = config(
        "return {token = os.getenv('ALC_SANDBOX_TEST_API_TOKEN'), pw = os.getenv('alc_sandbox_test_password'), llm = os.getenv('ALC_SANDBOX_TEST_LLM'), plain = os.getenv('ALC_SANDBOX_TEST_PLAIN'), home = os.getenv('HOME')}",
    );
    cfg.secret_env = vec!["ALC_SANDBOX_TEST_LLM".into()];
    let (out, _) = run_config(cfg, |_| Ok(String::new()));
    assert_eq!(
        completed(out),
        json!({"plain": "visible", "home": std::env::var("HOME").unwrap()})
    );
}

#[test]
fn writes_to_stdout_and_stderr_become_log_events() {
    let (out, events) = run(
        "io.write('a', 1, '\\n')\nio.stdout:write('b'):write('c\\n')\nio.stderr:write('oops\\n')\nio.output():write('d\\n')\nio.write('tail')\nprint('printed')\nreturn {t = io.type(io.stdout), s = tostring(io.stderr)}",
        |_| Ok(String::new()),
    );
    assert_eq!(
        completed(out),
        json!({"t": "file", "s": "file (captured stderr)"})
    );
    let logs = logs(&events);
    for expected in [
        ("info", "a1"),
        ("info", "bc"),
        ("warn", "oops"),
        ("info", "d"),
        ("info", "printed"),
        ("info", "tail"),
    ] {
        assert!(
            logs.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {logs:?}"
        );
    }
    let msg = failed(&eval("io.write({})"));
    assert!(msg.contains("bad argument #1 to 'write'"), "{msg}");
    let msg = failed(&eval("return io.stdout:read('l')"));
    assert!(msg.contains("io.stdout is captured"), "{msg}");
}

#[test]
fn io_output_can_still_point_at_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.txt");
    let out = eval(&format!(
        "io.output({:?})\nio.write('to the file')\nio.close()\nio.output(io.stdout)\nio.write('logged')\nreturn io.open({:?}):read('a')",
        file.display().to_string(),
        file.display().to_string()
    ));
    assert_eq!(completed(out), json!("to the file"));
}

#[test]
fn binary_chunks_are_refused() {
    let refused = "binary chunks are disabled in the sandbox";
    for code in [
        "return load(string.dump(function() return 1 end))",
        "return load(string.dump(function() return 1 end), 'x', 'b')",
        "return load(string.dump(function() return 1 end), 'x', 'bt', {})",
        "local d = string.dump(function() return 1 end)\nlocal done = false\nreturn load(function() if done then return nil end done = true return d end)",
        "return load('return 1', 'x', 'b')",
    ] {
        let msg = failed(&eval(code));
        assert!(msg.contains(refused), "{code}: {msg}");
    }
    // Text still loads, with and without an env.
    assert_eq!(
        completed(eval(
            "return {load('return 1')(), load('return x', 'n', 't', {x = 5})(), select('#', load('return 1', 'n', 't', nil))}"
        )),
        json!([1, 5, 1])
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("f.luac");
    let dump = format!(
        "local f = io.open({:?}, 'wb') f:write(string.dump(function() return 1 end)) f:close()",
        bin.display().to_string()
    );
    for call in ["loadfile", "dofile"] {
        let msg = failed(&eval(&format!(
            "{dump}\nreturn {call}({:?})",
            bin.display().to_string()
        )));
        assert!(msg.contains(refused), "{call}: {msg}");
    }
    // A bytecode file as the script itself, and as a package.
    let (out, _) = eval_config(SessionConfig::new(ScriptSpec::File(bin.clone())));
    assert!(failed(&out).contains(refused));
    let (_dir, cfg) = project("return require('evil')", &[("evil", "")]);
    let evil = cfg_dir(&cfg).join("evil/init.lua");
    std::fs::copy(&bin, evil).unwrap();
    let msg = failed(&eval_config(cfg).0);
    assert!(msg.contains(refused), "{msg}");
}

fn cfg_dir(cfg: &SessionConfig) -> std::path::PathBuf {
    match &cfg.script {
        ScriptSpec::File(p) => p.parent().unwrap().to_path_buf(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bytecode_on_package_path_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let code = format!(
        "local f = io.open({dir:?} .. '/pathmod.lua', 'wb') f:write(string.dump(function() return 1 end)) f:close()\npackage.path = {dir:?} .. '/?.lua'\nreturn require('pathmod')",
        dir = dir.path().display().to_string()
    );
    let msg = failed(&eval(&code));
    assert!(msg.contains("binary chunks are disabled"), "{msg}");
    // A text module on package.path still loads.
    let code = format!(
        "local f = io.open({dir:?} .. '/textmod.lua', 'w') f:write('return 42') f:close()\npackage.path = {dir:?} .. '/?.lua'\nreturn require('textmod')",
        dir = dir.path().display().to_string()
    );
    assert_eq!(completed(eval(&code)), json!(42));
}

#[test]
fn native_code_is_refused() {
    let msg = failed(&eval(
        "local x = 1\nlocal f = package.loadlib('/lib/libc.so.6', 'puts')\nreturn f",
    ));
    assert!(
        msg.starts_with("test.lua:2:")
            && msg.contains("package.loadlib is disabled in the sandbox"),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nativemod.so"), b"not really a library").unwrap();
    let msg = failed(&eval(&format!(
        "package.cpath = {:?} .. '/?.so'\nreturn require('nativemod')",
        dir.path().display().to_string()
    )));
    assert!(msg.contains("can't load C modules"), "{msg}");
}

#[test]
fn path_like_require_names_are_refused() {
    for (name, why) in [
        ("/etc/passwd", "is an absolute path"),
        ("../x", "starts with '.'"),
        (".x", "starts with '.'"),
        ("a..b", "contains '..'"),
        ("pkg/../../etc", "contains '..'"),
    ] {
        let out = eval(&format!("local x = 1\nreturn require({name:?})"));
        let msg = failed(&out);
        assert!(
            msg.starts_with("test.lua:2:")
                && msg.contains("is refused in the sandbox")
                && msg.contains(why),
            "{name}: {msg}"
        );
    }
    // Ordinary names, dotted ones included, still resolve.
    assert_eq!(
        completed(eval("return type(require('cot').run)")),
        json!("function")
    );
}

#[test]
fn what_real_packages_do_still_works() {
    let out = eval(
        "local f = assert(io.open('/dev/urandom', 'rb'))\nlocal bytes = f:read(16)\nf:close()\nio.stderr:write('seeded from urandom\\n')\nreturn {n = #bytes, home = os.getenv('HOME') ~= nil, t = type(os.time()), c = type(os.clock())}",
    );
    assert_eq!(
        completed(out),
        json!({"n": 16, "home": true, "t": "number", "c": "number"})
    );
}

#[test]
fn cancel_wins_over_coroutine_wrap_loops() {
    for code in [
        "local f = coroutine.wrap(function() while true do pcall(function() while true do end end) end end)\nf()",
        "while true do local co = coroutine.wrap(function() while true do end end) pcall(co) end",
        "while true do local co = coroutine.create(function() while true do end end) coroutine.resume(co) coroutine.close(co) end",
        "while true do xpcall(function() while true do end end, function() while true do end end) end",
        "local function spin() while true do end end\nwhile true do local ok = pcall(coroutine.wrap(function() pcall(spin) end)) end",
    ] {
        let (session, mut events) = Session::start(config(code)).unwrap();
        loop {
            if events.blocking_recv().unwrap().event.kind() == "session" {
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
fn the_workbench_own_output_cannot_be_opened_for_writing() {
    for (path, mode) in [
        ("/dev/stdout", "w"),
        ("/dev/stderr", "a"),
        ("/dev/fd/1", "w+"),
        ("/dev/tty", "w"),
    ] {
        let msg = failed(&eval(&format!(
            "local x = 1\nlocal f = io.open({path:?}, {mode:?})\nreturn f"
        )));
        assert!(
            msg.starts_with("test.lua:2:")
                && msg.contains(&format!("writing to \"{path}\" is disabled in the sandbox")),
            "{path}: {msg}"
        );
    }
    let msg = failed(&eval("io.output('/dev/stdout')"));
    assert!(msg.contains("is disabled in the sandbox"), "{msg}");
    // Reading them, and writing /dev/null or an ordinary file, is untouched.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt").display().to_string();
    assert_eq!(
        completed(eval(&format!(
            "assert(io.open('/dev/null', 'w')):write('x')\nlocal f = assert(io.open({file:?}, 'w'))\nf:write('ok') f:close()\nreturn io.open({file:?}):read('a')"
        ))),
        json!("ok")
    );
}

/// The workbench's stdin is the person's keyboard: a strategy reading it (in the main
/// VM or a fork child) gets a clear error instead of stealing keystrokes; reading a
/// file, also as the default input, still works.
#[test]
fn reading_stdin_is_refused_and_files_still_read() {
    for code in [
        "local x = 1\nlocal v = io.read('l')\nreturn v",
        "local x = 1\nfor line in io.lines() do end",
        "local x = 1\nlocal v = io.stdin:read('a')\nreturn v",
        "local x = 1\nlocal v = io.input():read('l')\nreturn v",
    ] {
        let msg = failed(&eval(code));
        assert!(
            msg.starts_with("test.lua:2:")
                && msg.contains("reading stdin is disabled in the sandbox")
                && msg.contains("the person's keys"),
            "{code}: {msg}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.txt");
    std::fs::write(&file, "first\nsecond\n").unwrap();
    let path = file.display().to_string();
    let code = format!(
        "local lines = {{}}\nfor l in io.lines({path:?}) do lines[#lines + 1] = l end\n\
         io.input({path:?})\nlocal first = io.read('l')\n\
         local f = io.open({path:?})\nlocal all = f:read('a')\nf:close()\n\
         return {{lines = lines, first = first, all = all, t = io.type(io.stdin)}}"
    );
    assert_eq!(
        completed(eval(&code)),
        json!({"lines": ["first", "second"], "first": "first", "all": "first\nsecond\n",
               "t": "file"})
    );
    let (_dir, cfg) = project(
        "return alc.fork({'reader'}, {})",
        &[(
            "reader",
            "return {run = function(ctx) return io.read('l') end}",
        )],
    );
    let r = completed(eval_config(cfg).0);
    let err = r[0]["error"].as_str().unwrap();
    assert!(
        err.contains("reading stdin is disabled in the sandbox"),
        "{err}"
    );
}
