//! The sandbox seen from the binary: `run`'s stdout is only the result JSON whatever
//! the strategy writes, `--allow-exec` and config `allow_exec = true` lift the process
//! rule (for `replay` too), and a provider's `api_key_env` from `--config` is hidden
//! from `os.getenv`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    exec_in(dir, "run", args, envs)
}

/// `alc-workbench SUBCOMMAND ARGS…` in `dir`, with its own home and config dirs.
fn exec_in(dir: &Path, subcommand: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alc-workbench"));
    c.current_dir(dir)
        .env("ALC_HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("ALC_PACKAGES_PATH")
        .arg(subcommand)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

fn script(dir: &Path, name: &str, code: &str) -> String {
    std::fs::write(dir.join(name), code).unwrap();
    name.to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn stdout_is_exactly_the_result_json_whatever_the_strategy_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "noisy.lua",
        "io.write('plain write\\n')\nio.stdout:write('chained '):write('write\\n')\nio.output():write('via output\\n')\nio.stderr:write('to stderr\\n')\nprint('printed')\nio.write('no newline')\nreturn {done = true}",
    );
    let out = run_in(dir.path(), &[&s, "--compact"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"done\":true}\n");
    let err = text(&out.stderr);
    for line in [
        "plain write",
        "chained write",
        "via output",
        "to stderr",
        "printed",
        "no newline",
    ] {
        assert!(err.contains(line), "{line} missing from stderr: {err}");
    }
}

#[test]
fn allow_exec_comes_from_the_flag_or_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "exec.lua",
        "return io.popen('echo hi'):read('l')",
    );
    let refused = run_in(dir.path(), &[&s], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains(
            "exec.lua:1: io.popen is disabled in the sandbox (start the workbench with --allow-exec to allow it)"
        ),
        "{}",
        text(&refused.stderr)
    );
    assert!(refused.stdout.is_empty());

    let flagged = run_in(dir.path(), &[&s, "--allow-exec", "--compact"], &[]);
    assert_eq!(
        text(&flagged.stdout),
        "\"hi\"\n",
        "{}",
        text(&flagged.stderr)
    );

    std::fs::write(dir.path().join("allow.toml"), "allow_exec = true\n").unwrap();
    let configured = run_in(
        dir.path(),
        &[&s, "--config", "allow.toml", "--compact"],
        &[],
    );
    assert_eq!(
        text(&configured.stdout),
        "\"hi\"\n",
        "{}",
        text(&configured.stderr)
    );
    // The default config location counts too.
    std::fs::create_dir_all(dir.path().join("config/alc-workbench")).unwrap();
    std::fs::write(
        dir.path().join("config/alc-workbench/config.toml"),
        "allow_exec = true\n",
    )
    .unwrap();
    let default = run_in(dir.path(), &[&s, "--compact"], &[]);
    assert_eq!(
        text(&default.stdout),
        "\"hi\"\n",
        "{}",
        text(&default.stderr)
    );
}

#[test]
fn replay_needs_allow_exec_again_from_the_flag_or_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "ask_exec.lua",
        "local a = alc.llm('say hi')\nreturn {a = a, hi = io.popen('echo hi'):read('l')}",
    );
    let recorded = run_in(
        dir.path(),
        &[
            &s,
            "--allow-exec",
            "--answer-cmd",
            "echo ok",
            "--transcript",
            "t.jsonl",
        ],
        &[],
    );
    assert_eq!(
        recorded.status.code(),
        Some(0),
        "{}",
        text(&recorded.stderr)
    );
    // Not recorded: without the flag the replayed run meets the sandbox.
    let refused = exec_in(dir.path(), "replay", &["t.jsonl"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(err.contains("diverged at the result"), "{err}");
    assert!(err.contains("io.popen is disabled in the sandbox"), "{err}");
    let flagged = exec_in(dir.path(), "replay", &["t.jsonl", "--allow-exec"], &[]);
    assert_eq!(flagged.status.code(), Some(0), "{}", text(&flagged.stderr));
    assert!(text(&flagged.stderr).contains("result identical"));
    std::fs::write(dir.path().join("allow.toml"), "allow_exec = true\n").unwrap();
    let configured = exec_in(
        dir.path(),
        "replay",
        &["t.jsonl", "--config", "allow.toml"],
        &[],
    );
    assert_eq!(
        configured.status.code(),
        Some(0),
        "{}",
        text(&configured.stderr)
    );
}

#[test]
fn a_configured_api_key_variable_is_hidden_from_the_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "env.lua",
        "return {llm = os.getenv('MY_LLM_AUTH'), plain = os.getenv('MY_PLAIN_VAR')}",
    );
    std::fs::write(
        dir.path().join("c.toml"),
        "[providers.p]\nkind = \"openai\"\nmodel = \"m\"\napi_key_env = \"MY_LLM_AUTH\"\n",
    )
    .unwrap();
    let envs = [("MY_LLM_AUTH", "sk-live-123456"), ("MY_PLAIN_VAR", "ok")];
    let hidden = run_in(dir.path(), &[&s, "--config", "c.toml", "--compact"], &envs);
    assert_eq!(
        text(&hidden.stdout),
        "{\"plain\":\"ok\"}\n",
        "{}",
        text(&hidden.stderr)
    );
    let shown = run_in(dir.path(), &[&s, "--compact"], &envs);
    assert_eq!(
        text(&shown.stdout),
        "{\"llm\":\"sk-live-123456\",\"plain\":\"ok\"}\n"
    );
}

#[test]
fn os_exit_fails_the_run_and_leaves_the_process_to_the_workbench() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "quit.lua", "io.write('bye\\n')\nos.exit(0)");
    let out = run_in(dir.path(), &[&s], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: quit.lua:2: os.exit called (code 0): the strategy ended itself"),
        "{err}"
    );
    assert!(err.contains("failed"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_vm_thread_short_of_stack_still_ends_with_a_lua_error() {
    // RUST_MIN_STACK shrinks every thread mlua-isle spawns; the engine grows its own.
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "recurse.lua",
        "local t\nt = setmetatable({}, {__tostring = function(s) print(s) return 'x' end})\nprint(t)",
    );
    let out = run_in(dir.path(), &[&s], &[("RUST_MIN_STACK", "131072")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("stack overflow") && !err.contains("has overflowed its stack"),
        "{err}"
    );
}

#[test]
fn the_file_run_writes_its_result_to_cannot_be_written_by_the_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "clobber.lua",
        "local ok, e = pcall(io.open, 'result.json', 'w')\nreturn {ok = ok, e = e}",
    );
    let result = std::fs::File::create(dir.path().join("result.json")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(dir.path())
        .env("ALC_HOME", dir.path().join("home"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .args(["run", &s, "--compact"])
        .stdin(Stdio::null())
        .stdout(result)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("result.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(v["ok"], serde_json::json!(false));
    assert!(
        v["e"]
            .as_str()
            .unwrap()
            .contains("writing to \"result.json\" is disabled"),
        "{v}"
    );
}
