//! Integration tests of `alc-workbench replay`: the real binary recording with `run`
//! and replaying: identical, diverged, --until, continuing with a source (`run`'s
//! source flags and summary), bad input, and `pairs()` order over string keys being
//! the same in separate processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alc-workbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env("ALC_HOME", home);
    c.env_remove("ALC_PACKAGES_PATH");
    c.stdin(Stdio::null());
    c
}

fn exec(home: &Path, args: &[&str]) -> Output {
    bin(home).args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A temp dir holding `ALC_HOME` and the files of one test.
struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Self {
        Bench {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }
    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path(name), text).unwrap();
        self.s(name)
    }
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        exec(&self.path("home"), &all)
    }
    fn replay(&self, args: &[&str]) -> Output {
        let mut all = vec!["replay"];
        all.extend_from_slice(args);
        exec(&self.path("home"), &all)
    }
    /// Records demo/cot.lua into `cot.jsonl`.
    fn record_cot(&self) -> String {
        let t = self.s("cot.jsonl");
        let o = self.run(&[
            "demo/cot.lua",
            "--answers",
            "demo/cot.answers.jsonl",
            "--transcript",
            &t,
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        t
    }
    /// demo/cot.lua with its step prompt reworded (every query changes).
    fn edited_cot(&self) -> String {
        let text = std::fs::read_to_string("demo/cot.lua").unwrap();
        let edited = text.replace("One or two \"", "One short \"");
        assert_ne!(
            text, edited,
            "the demo's prompt text moved; update this test"
        );
        self.write("cot_edited.lua", &edited)
    }
}

#[test]
fn identical_replay_prints_the_result_and_says_so() {
    let b = Bench::new();
    let t = b.record_cot();
    let recorded = b.run(&["demo/cot.lua", "--answers", "demo/cot.answers.jsonl", "-q"]);
    let o = b.replay(&[&t]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&recorded));
    assert!(
        stderr(&o).contains("identical · 4 of 4 answers replayed · result identical"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn edited_script_diverges_at_the_first_changed_prompt_with_a_diff() {
    let b = Bench::new();
    let t = b.record_cot();
    let edited = b.edited_cot();
    let o = b.replay(&[&t, "--script", &edited]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("differs from the recorded script (sha256"),
        "{err}"
    );
    assert!(
        err.contains("diverged at q-1 (query 1): prompt changed"),
        "{err}"
    );
    assert!(err.contains("--- recorded q-1 prompt"), "{err}");
    assert!(
        err.contains("-Write step 1 of 3 of your reasoning. One or two sentences"),
        "{err}"
    );
    assert!(
        err.contains("+Write step 1 of 3 of your reasoning. One short sentences"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn changed_result_is_a_divergence() {
    let b = Bench::new();
    let lua = b.write("one.lua", "local a = alc.llm('q')\nreturn {a = a}\n");
    let t = b.s("one.jsonl");
    let o = b.run(&[&lua, "--answer-cmd", "echo yes", "--transcript", &t, "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let edited = b.write(
        "one_edited.lua",
        "local a = alc.llm('q')\nreturn {a = a, n = 2}\n",
    );
    let o = b.replay(&[&t, "--script", &edited]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("diverged at the result"), "{err}");
    assert!(err.contains("+    \"n\": 2"), "{err}");
}

#[test]
fn until_replays_n_answers_then_the_source_answers_and_the_transcript_says_replay() {
    let b = Bench::new();
    let t = b.record_cot();
    let out = b.s("new.jsonl");
    let o = b.replay(&[
        &t,
        "--until",
        "2",
        "--answer-cmd",
        "echo live",
        "--transcript",
        &out,
        "--compact",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("replayed up to query 2 (--until 2)"), "{err}");
    assert!(err.contains("replay: 2 of 4 answers replayed"), "{err}");
    let new = lines(Path::new(&out));
    let sources: Vec<_> = new
        .iter()
        .filter(|l| l["event"] == "answer")
        .map(|l| l["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources, ["replay", "replay", "command", "command"]);
    let of = &new[0]["replay_of"];
    assert_eq!(of["path"], t.as_str());
    assert_eq!(of["sha256"].as_str().unwrap().len(), 64);
    assert!(stdout(&o).contains("live"));
}

#[test]
fn continue_with_a_source_after_the_first_changed_prompt() {
    let b = Bench::new();
    let t = b.record_cot();
    let edited = b.edited_cot();
    let o = b.replay(&[
        &t,
        "--script",
        &edited,
        "--answers",
        "demo/cot.answers.jsonl",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "replay ended at q-1 (query 1): prompt changed; answers file answers from here"
        ),
        "{err}"
    );
    assert!(err.contains("completed · 4 calls"), "{err}");
}

#[test]
fn bad_inputs_exit_2_with_clear_messages() {
    let b = Bench::new();
    let t = b.record_cot();
    let o = b.replay(&[&t, "--until", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--until 9 is beyond the recording:")
            && stderr(&o).contains("has 4 answers"),
        "{}",
        stderr(&o)
    );
    let junk = b.write(
        "junk.jsonl",
        "{\"seq\":1,\"t_ms\":0,\"event\":\"session\"}\nhello\n",
    );
    let o = b.replay(&[&junk]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("junk.jsonl:2: bad JSON"),
        "{}",
        stderr(&o)
    );
    // An older transcript: no `state` on its session line.
    let mut old = lines(Path::new(&t));
    old[0].as_object_mut().unwrap().remove("state");
    let text: String = old.iter().map(|l| format!("{l}\n")).collect();
    let older = b.write("older.jsonl", &text);
    let o = b.replay(&[&older]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("recorded by an older alc-workbench"),
        "{}",
        stderr(&o)
    );
    // A corrupt snapshot.
    let mut bad = lines(Path::new(&t));
    bad[0]["state"] = serde_json::json!({"ns": "default", "values": [1, 2]});
    let text: String = bad.iter().map(|l| format!("{l}\n")).collect();
    let corrupt = b.write("corrupt.jsonl", &text);
    let o = b.replay(&[&corrupt]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("corrupt.jsonl:1: session line: the `state` snapshot is corrupt"),
        "{}",
        stderr(&o)
    );
    // The recorded script is gone.
    let mut moved = lines(Path::new(&t));
    moved[0]["script"] = "demo/nowhere.lua".into();
    let text: String = moved.iter().map(|l| format!("{l}\n")).collect();
    let missing = b.write("missing.jsonl", &text);
    let o = b.replay(&[&missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the script demo/nowhere.lua recorded in")
            && stderr(&o).contains("pass --script FILE"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn torn_last_line_is_ignored_with_a_warning() {
    let b = Bench::new();
    let t = b.record_cot();
    let mut text = std::fs::read_to_string(&t).unwrap();
    // Cut the run after its second answer, in the middle of the next line.
    let keep: Vec<&str> = text.lines().collect();
    let second_answer = keep
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"event\":\"answer\""))
        .nth(1)
        .unwrap()
        .0;
    text = keep[..=second_answer].join("\n") + "\n" + &keep[second_answer + 1][..20];
    let torn = b.write("torn.jsonl", &text);
    let o = b.replay(&[&torn, "--answers", "demo/cot.answers.jsonl"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "torn.jsonl:{}: the last line is torn",
            second_answer + 2
        )),
        "{err}"
    );
    assert!(err.contains("replay: 2 of 2 answers replayed"), "{err}");
}

#[test]
fn another_script_batch_size_and_fork_children_are_named() {
    let b = Bench::new();
    let batch = b.write(
        "batch.lua",
        "local qs = {}\nfor i = 1, ctx.n do qs[i] = {prompt = 'item ' .. i} end\nreturn alc.llm_batch(qs)\n",
    );
    let t = b.s("batch.jsonl");
    let o = b.run(&[
        &batch,
        "--ctx",
        "{\"n\":3}",
        "--answer-cmd",
        "echo x",
        "--transcript",
        &t,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = b.replay(&[&t, "--ctx", "{\"n\":5}"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "diverged at q-1 (query 1): a recorded batch of 3 replayed against a batch of 5"
        ),
        "{}",
        stderr(&o)
    );
    // The same transcript against another script: said at start, then it diverges.
    let o = b.replay(&[&t, "--script", "demo/cot.lua"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a transcript of"), "{}", stderr(&o));

    let forks = b.write("forks.lua", "return alc.fork({'cot'}, {task = '2+2?'})\n");
    let t = b.s("forks.jsonl");
    let o = b.run(&[&forks, "--answer-cmd", "echo four", "--transcript", &t]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let other = b.write("forks_sc.lua", "return alc.fork({'sc'}, {task = '2+2?'})\n");
    let o = b.replay(&[&t, "--script", &other]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("fork child sc is not in the recording"),
        "{}",
        stderr(&o)
    );
    let none = b.write("forks_none.lua", "return {}\n");
    let o = b.replay(&[&t, "--script", &none]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("fork child cot asked nothing in this run"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pairs_over_60_string_keys_is_the_same_in_five_processes_and_replays() {
    let b = Bench::new();
    let lua = b.write(
        "pairs.lua",
        "local t = {}\nfor i = 1, 60 do t['key' .. i] = i end\nlocal order = {}\n\
         for k in pairs(t) do order[#order + 1] = k end\n\
         local a = alc.llm('keys: ' .. table.concat(order, ','))\n\
         return {order = table.concat(order, ','), a = a}\n",
    );
    let mut results = Vec::new();
    for i in 0..5 {
        let t = b.s(&format!("pairs{i}.jsonl"));
        let o = b.run(&[
            &lua,
            "--answer-cmd",
            "echo ok",
            "--transcript",
            &t,
            "--compact",
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        results.push(stdout(&o));
        // Each recording replays identically in yet another process.
        let r = b.replay(&[&t, "--compact"]);
        assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
        assert_eq!(stdout(&r), stdout(&o));
    }
    assert!(results.iter().all(|r| r == &results[0]), "{results:?}");
    // Not trivially sorted: the order is Lua's hash order, fixed by the build.
    let order: Value = serde_json::from_str(&results[0]).unwrap();
    let keys: Vec<&str> = order["order"].as_str().unwrap().split(',').collect();
    assert_eq!(keys.len(), 60);
}

#[test]
fn replay_of_a_state_strategy_leaves_the_real_state_alone() {
    let b = Bench::new();
    let lua = b.write(
        "state.lua",
        "local n = alc.state.incr('runs')\nreturn {n = n, a = alc.llm('run ' .. n)}\n",
    );
    let t = b.s("state.jsonl");
    let o = b.run(&[&lua, "--answer-cmd", "echo ok", "--transcript", &t, "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let state_file = b.path("home/state/default.json");
    let before = std::fs::read(&state_file).unwrap();
    let o = b.replay(&[&t]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(&state_file).unwrap(), before);
}

#[test]
fn a_continued_replay_reports_as_run_does_over_budget_included() {
    let b = Bench::new();
    let t = b.s("batch.jsonl");
    let answers = "tests/fixtures/batch.answers.jsonl";
    let o = b.run(&[
        "tests/fixtures/batch.lua",
        "--answers",
        answers,
        "--transcript",
        &t,
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The batch starts under the new limit and ends past it, as in `run`.
    let o = b.replay(&[&t, "--answers", answers, "--budget-calls", "2"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("replay: 3 of 3 answers replayed"), "{err}");
    assert!(
        err.contains("completed · 3 calls (over budget: max 2) · "),
        "{err}"
    );
    // --budget-strict refuses the batch before it is asked.
    let o = b.replay(&[
        &t,
        "--answers",
        answers,
        "--budget-calls",
        "2",
        "--budget-strict",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("budget_exceeded: llm_calls 0 + 3 asked would pass max_llm_calls 2"),
        "{err}"
    );
    assert!(err.contains("failed · 0 calls · "), "{err}");
}

#[test]
fn replay_takes_runs_source_flags_and_checks_the_config() {
    let b = Bench::new();
    let t = b.record_cot();
    let nowhere = b.s("nowhere.toml");
    let o = b.replay(&[
        &t,
        "--answers",
        "demo/cot.answers.jsonl",
        "--config",
        &nowhere,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("--config file {nowhere} does not exist")),
        "{}",
        stderr(&o)
    );
    // One source at most, as in `run`.
    let o = b.replay(&[&t, "--answers", "a.jsonl", "--answer-cmd", "echo x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    // An unknown provider is an input error naming it.
    let config = b.write("config.toml", "");
    let o = b.replay(&[&t, "--provider", "nobody", "--config", &config]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nobody"), "{}", stderr(&o));
    // The long-lived process and the policy flag are accepted; the process answers
    // what the replay does not (here: from query 3 on).
    let o = b.replay(&[
        &t,
        "--until",
        "2",
        "--answer-proc",
        r#"while IFS= read -r line; do printf '{"answer":"proc"}\n'; done"#,
        "--on-provider-error",
        "fail",
        "--compact",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("proc"), "{}", stdout(&o));
}
