//! `run` against oversized and broken input: answers over `--max-answer-mb` from a
//! command and a coprocess, `--ctx @FILE` and answers files over 64 MiB, an answers
//! file with invalid UTF-8, a broken `--config` file without `--provider`, and a
//! broken screen section (`[keys]`, `mode`) that stops only the TUI.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ALC_HOME", home.path())
        .env_remove("ALC_PACKAGES_PATH")
        .arg("run")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn script(dir: &Path, code: &str) -> String {
    let path = dir.join("ask.lua");
    std::fs::write(&path, code).unwrap();
    path.display().to_string()
}

/// A file of `len` bytes without writing them (sparse): the limits must refuse it
/// from its size, before reading.
fn sparse_file(path: &Path, len: u64) -> String {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
    path.display().to_string()
}

const OVER_64_MIB: u64 = 64 * 1024 * 1024 + 1;

#[test]
fn command_answer_over_the_limit_fails_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let ask = script(dir.path(), "return alc.llm('question')");
    let o = run(&[
        &ask,
        "--answer-cmd",
        "exec yes answer",
        "--max-answer-mb",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "answer command output for q-1 exceeded the maximum answer size of 1 MiB \
             (raise it with --max-answer-mb)"
        ),
        "{}",
        stderr(&o)
    );
    // Under the limit the same strategy completes.
    let o = run(&[&ask, "--answer-cmd", "echo fine", "--max-answer-mb", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn coprocess_answer_over_the_limit_fails_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let ask = script(dir.path(), "return alc.llm('question')");
    let o = run(&[
        &ask,
        "--answer-proc",
        "read -r q; printf '{\"answer\": \"'; exec yes x | tr -d '\\n'",
        "--max-answer-mb",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("answer coprocess reply to q-1 exceeded the maximum answer size of 1 MiB"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn max_answer_mb_must_be_positive() {
    let o = run(&["demo/cot.lua", "--max-answer-mb", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-answer-mb"), "{}", stderr(&o));
}

#[test]
fn the_workbench_takes_the_flag_too() {
    // Checked before any terminal is touched, so no pseudo-terminal is needed.
    let o = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["demo/cot.lua", "--max-answer-mb", "0"])
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-answer-mb"), "{}", stderr(&o));
    let help = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .arg("--help")
        .output()
        .expect("binary runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--max-answer-mb <MIB>"));
}

#[test]
fn ctx_file_over_64_mib_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = sparse_file(&dir.path().join("ctx.json"), OVER_64_MIB);
    let o = run(&["demo/cot.lua", "--ctx", &format!("@{big}")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "cannot read --ctx file {big}: the file is larger than the limit of 64 MiB \
             for --ctx files"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn answers_file_over_64_mib_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = sparse_file(&dir.path().join("a.jsonl"), OVER_64_MIB);
    let o = run(&["demo/cot.lua", "--answers", &big]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "cannot read answers file {big}: the file is larger than the limit of 64 MiB \
             for answers files"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn answers_file_with_invalid_utf8_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    std::fs::write(
        &path,
        b"// two good lines, then a bad one\n{\"answer\": \"ok\"}\n{\"answer\": \"caf\xe9\"}\n",
    )
    .unwrap();
    let shown = path.display().to_string();
    let o = run(&["demo/cot.lua", "--answers", &shown]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{shown}:3: invalid UTF-8 (answers files are UTF-8 text)"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn broken_config_is_an_input_error_even_without_a_provider() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "mode = \"manual\"\n[keys\nquit = \"x\"\n").unwrap();
    let shown = config.display().to_string();
    let o = run(&[
        "demo/cot.lua",
        "--answers",
        "demo/cot.answers.jsonl",
        "--config",
        &shown,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&shown), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));

    let missing = dir.path().join("none.toml").display().to_string();
    let o = run(&["demo/cot.lua", "--config", &missing]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("--config file {missing} does not exist")),
        "{}",
        stderr(&o)
    );

    // A valid config without providers is fine.
    std::fs::write(&config, "mode = \"manual\"\n").unwrap();
    let o = run(&[
        "demo/cot.lua",
        "--answers",
        "demo/cot.answers.jsonl",
        "--config",
        &shown,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The screen's settings (`theme`, `mode`, `[keys]`) are the TUI's alone: a broken
/// `[keys]` table or `mode` never stops `run`, with or without a provider, while the
/// TUI still refuses it before it starts, naming the file and the entry.
#[test]
fn broken_screen_settings_stop_only_the_tui() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "theme = \"dark\"\n[keys]\nquit = \"hyper-q\"\n[providers.echo]\nkind = \"command\"\ncommand = \"echo four\"\n",
    )
    .unwrap();
    let shown = config.display().to_string();

    let o = run(&[
        "cot",
        "--task",
        "2+2?",
        "--provider",
        "echo",
        "--config",
        &shown,
        "--compact",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(result["result"]["answer"], "four");

    let o = run(&[
        "demo/cot.lua",
        "--answers",
        "demo/cot.answers.jsonl",
        "--config",
        &shown,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The workbench reads the same file and refuses the keymap before the terminal
    // is touched.
    let home = tempfile::tempdir().unwrap();
    let tui = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ALC_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env_remove("ALC_PACKAGES_PATH")
        .args(["demo/cot.lua", "--config", &shown])
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert_eq!(tui.status.code(), Some(2), "{}", stderr(&tui));
    assert!(
        stderr(&tui).contains(&format!("error: {shown}: [keys] quit:"))
            && stderr(&tui).contains("hyper-q"),
        "{}",
        stderr(&tui)
    );

    // So is a `mode` the TUI does not know; `run` has its own `--mode` flag.
    std::fs::write(&config, "mode = \"yolo\"\n").unwrap();
    let o = run(&[
        "demo/cot.lua",
        "--answers",
        "demo/cot.answers.jsonl",
        "--config",
        &shown,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
