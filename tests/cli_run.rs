//! Integration tests of `alc-workbench run`: the real binary on demos, packages and
//! bad input, checking result JSON, stderr messages, exit codes and transcripts.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alc-workbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    // Never touch the developer's real ~/.algocline.
    c.env(
        "ALC_HOME",
        std::env::temp_dir().join("alc-workbench-test-home"),
    );
    c.env_remove("ALC_PACKAGES_PATH");
    c
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(["run"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn transcript(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn answers_in(file: &str) -> Vec<String> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["answer"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn cot_demo_completes_and_writes_a_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let tpath = dir.path().join("t.jsonl");
    let o = run(&[
        "demo/cot.lua",
        "--answers",
        "demo/cot.answers.jsonl",
        "--transcript",
        tpath.to_str().unwrap(),
        "--seed",
        "42",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let result = stdout_json(&o);
    let answers = answers_in("demo/cot.answers.jsonl");
    assert_eq!(result["answer"], json!(answers[3]));
    assert_eq!(result["chain"].as_array().unwrap().len(), 3);
    assert!(stderr(&o).contains("completed · 4 calls"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains('$'),
        "no prices, no money: {}",
        stderr(&o)
    );

    let lines = transcript(&tpath);
    assert_eq!(lines[0]["event"], "session");
    assert_eq!(lines[0]["seed"], 42);
    assert_eq!(lines[0]["script"], "demo/cot.lua");
    assert_eq!(lines[0]["script_sha256"].as_str().unwrap().len(), 64);
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "end");
    assert_eq!(last["status"], "completed");
    assert_eq!(last["metrics"]["llm_calls"], 4);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], json!(i + 1));
    }
    let queries: Vec<_> = lines.iter().filter(|l| l["event"] == "query").collect();
    let answered: Vec<_> = lines.iter().filter(|l| l["event"] == "answer").collect();
    assert_eq!((queries.len(), answered.len()), (4, 4));
    assert_eq!(queries[0]["site"]["file"], "demo/cot.lua");
    assert!(queries[0]["site"]["line"].as_u64().unwrap() > 0);
    assert_eq!(answered[0]["source"], "script");
    assert_eq!(answered[0]["text"], json!(answers[0]));
    // Each answer is recorded before the strategy moves on: its line precedes the
    // next query.
    let pos = |id: &str, kind: &str| {
        lines
            .iter()
            .position(|l| l["id"] == id && l["event"] == kind)
    };
    assert!(pos("q-1", "answer").unwrap() < pos("q-2", "query").unwrap());
}

#[test]
fn vote_demo_uses_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let tpath = dir.path().join("t.jsonl");
    let o = run(&[
        "demo/vote.lua",
        "--answers",
        "demo/vote.answers.jsonl",
        "--transcript",
        tpath.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(
        (r["answer"].clone(), r["votes"].clone(), r["total"].clone()),
        (json!("7"), json!(4), json!(5))
    );
    let batch: Vec<_> = transcript(&tpath)
        .into_iter()
        .filter(|l| l["event"] == "query")
        .map(|l| {
            (
                l["batch"]["index"].as_u64().unwrap(),
                l["batch"]["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(batch, (0..5).map(|i| (i, 5)).collect::<Vec<_>>());
}

#[test]
fn review_demo_and_packages_run() {
    let o = run(&["demo/review.lua", "--answers", "demo/review.answers.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["approved"], json!(true));

    let o = run(&[
        "cot",
        "--task",
        "2+2?",
        "--answer-cmd",
        "echo four",
        "--compact",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["result"]["answer"], json!("four"));
}

#[test]
fn fork_children_queries_surface_with_their_package_name() {
    let dir = tempfile::tempdir().unwrap();
    let tpath = dir.path().join("t.jsonl");
    let o = run(&[
        "tests/fixtures/fork_demo.lua",
        "--answers",
        "tests/fixtures/fork_demo.answers.jsonl",
        "--transcript",
        tpath.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(r[0]["strategy"], "cot");
    assert_eq!(r[1]["answer"], "4");
    let forks: Vec<String> = transcript(&tpath)
        .iter()
        .filter(|l| l["event"] == "query")
        .map(|l| l["fork"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(forks.len(), 9);
    assert_eq!(forks.iter().filter(|f| *f == "sc").count(), 5);
}

#[test]
fn budget_flag_stops_the_strategy() {
    let o = run(&[
        "demo/budget.lua",
        "--answers",
        "demo/budget.answers.jsonl",
        "--budget-calls",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(
        (r["count"].clone(), r["stopped_by"].clone()),
        (json!(3), json!("budget"))
    );
}

#[test]
fn a_batch_may_end_over_budget_and_the_summary_says_so() {
    let batch = [
        "tests/fixtures/batch.lua",
        "--answers",
        "tests/fixtures/batch.answers.jsonl",
        "--budget-calls",
        "2",
    ];
    let o = run(&batch);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout_json(&o)["count"],
        json!(3),
        "checked once, before the batch"
    );
    let err = stderr(&o);
    assert!(
        err.contains("completed · 3 calls (over budget: max 2) · "),
        "{err}"
    );
    // At its limit is not over.
    let mut at_limit = batch;
    at_limit[4] = "3";
    let err = stderr(&run(&at_limit));
    assert!(err.contains("completed · 3 calls · "), "{err}");
    // A float in the ctx is a limit too.
    let o = run(&[
        "tests/fixtures/batch.lua",
        "--answers",
        "tests/fixtures/batch.answers.jsonl",
        "--ctx",
        r#"{"budget": {"max_llm_calls": 2.0}}"#,
    ]);
    assert!(
        stderr(&o).contains("3 calls (over budget: max 2)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn budget_strict_refuses_the_batch_before_asking() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let o = run(&[
        "tests/fixtures/batch.lua",
        "--answers",
        "tests/fixtures/batch.answers.jsonl",
        "--budget-calls",
        "2",
        "--budget-strict",
        "--transcript",
        t.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("budget_exceeded: llm_calls 0 + 3 asked would pass max_llm_calls 2"),
        "{err}"
    );
    assert!(err.contains("failed · 0 calls · "), "{err}");
    let records = transcript(&t);
    assert!(records.iter().any(|r| r["event"] == "end"), "{records:?}");
    assert!(
        !records.iter().any(|r| r["event"] == "query"),
        "no query was asked: {records:?}"
    );
    // The same from the ctx.
    let o = run(&[
        "tests/fixtures/batch.lua",
        "--answers",
        "tests/fixtures/batch.answers.jsonl",
        "--ctx",
        r#"{"budget": {"max_llm_calls": 2, "strict": true}}"#,
    ]);
    assert!(
        stderr(&o).contains("budget_exceeded: llm_calls 0 + 3"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_input_gets_clear_errors_and_exit_codes() {
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["no/such/script.lua"],
            2,
            "script not found: no/such/script.lua",
        ),
        (
            &["no_such_package"],
            2,
            "package 'no_such_package' not found",
        ),
        (
            &["demo/cot.lua", "--ctx", "{oops"],
            2,
            "invalid JSON in --ctx (line 1, column 2)",
        ),
        (
            &["demo/cot.lua", "--ctx", "[1]"],
            2,
            "must be a JSON object",
        ),
        (
            &["demo/cot.lua", "--ctx", "@/no/such.json"],
            2,
            "cannot read --ctx file",
        ),
        (
            &["demo/cot.lua", "--answers", "/no/such.jsonl"],
            2,
            "/no/such.jsonl",
        ),
        (
            &["tests/fixtures/syntax_error.lua"],
            1,
            "syntax_error.lua:5:",
        ),
        (
            &["tests/fixtures/runtime_error.lua"],
            1,
            "runtime_error.lua:4: attempt to index a nil value",
        ),
        (
            &["tests/fixtures/unknown_alc.lua"],
            1,
            "alc.does_not_exist is not available",
        ),
        (
            &["demo/cot.lua", "--answer-cmd", "echo broken >&2; exit 3"],
            1,
            "exited with status 3: broken",
        ),
        (
            &[
                "demo/cot.lua",
                "--answer-cmd",
                "sleep 30",
                "--answer-timeout",
                "1",
            ],
            1,
            "timed out after 1s for q-1",
        ),
        (
            &[
                "demo/cot.lua",
                "--ctx",
                "{\"budget\": {\"max_llm_calls\": \"x\"}}",
            ],
            2,
            "ctx.budget.max_llm_calls",
        ),
    ];
    for (args, code, needle) in cases {
        let o = run(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in:\n{err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn runtime_error_prints_a_traceback() {
    let o = run(&["tests/fixtures/runtime_error.lua"]);
    let err = stderr(&o);
    assert!(err.contains("stack traceback:"), "{err}");
    assert!(err.contains("runtime_error.lua:13"), "{err}");
}

#[test]
fn malformed_answers_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.jsonl");
    std::fs::write(&f, "{\"answer\": \"ok\"}\n// comment\n{\"answer\": \n").unwrap();
    let o = run(&["demo/cot.lua", "--answers", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("a.jsonl:3"), "{}", stderr(&o));
}

#[test]
fn answers_file_that_runs_out_names_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.jsonl");
    std::fs::write(&f, "{\"answer\": \"one\"}\n{\"answer\": \"two\"}\n").unwrap();
    let o = run(&["demo/cot.lua", "--answers", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("ran out") && err.contains("q-3"), "{err}");
}

#[test]
fn coprocess_answers_many_queries() {
    let proc = r#"while IFS= read -r line; do printf '{"answer":"ok"}\n'; done"#;
    let o = run(&["demo/vote.lua", "--answer-proc", proc, "--compact"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["total"], json!(5));
}

#[test]
fn stdin_answers_when_no_source_is_given() {
    let mut child = bin()
        .args(["run", "demo/review.lua", "--compact"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"A draft.\n.\nLooks right.\nVERDICT: APPROVED\n.\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["answer"], json!("A draft."));
    assert!(
        stderr(&o).contains("q-1"),
        "the prompt header is shown: {}",
        stderr(&o)
    );
}

#[test]
fn corrupt_state_file_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("state")).unwrap();
    std::fs::write(home.path().join("state/default.json"), "{not json").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.lua");
    std::fs::write(&script, "local n = alc.state.get('runs', 0)\nreturn n").unwrap();
    let o = bin()
        .args(["run", script.to_str().unwrap()])
        .env("ALC_HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("default.json") && err.contains("s.lua:1"),
        "{err}"
    );
    // The corrupt file is left as it was, for the user to inspect.
    assert_eq!(
        std::fs::read_to_string(home.path().join("state/default.json")).unwrap(),
        "{not json"
    );
}

#[test]
fn state_persists_between_runs() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.lua");
    std::fs::write(&script, "return alc.state.incr('runs')").unwrap();
    for expected in [1, 2] {
        let o = bin()
            .args(["run", script.to_str().unwrap(), "--compact"])
            .env("ALC_HOME", home.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout_json(&o), json!(expected));
    }
}
