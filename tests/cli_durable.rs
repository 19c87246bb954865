//! `run` when the transcript cannot be written: the real binary stops with exit 1 and a
//! message naming the file and the OS error, and the strategy does not resume (the
//! strategy below writes a marker file and a log line right after its answer).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::json;

/// Asks once; on resuming, writes `ctx.marker` and logs RESUMED.
const STRATEGY: &str = r#"
local a = alc.llm("question?")
local f = assert(io.open(ctx.marker, "w"))
f:write("resumed with " .. a)
f:close()
alc.log("info", "RESUMED")
return a
"#;

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.lua"), STRATEGY).unwrap();
        std::fs::write(
            dir.path().join("answers.jsonl"),
            "{\"match\": \"\", \"answer\": \"yes\"}\n",
        )
        .unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run(&self, extra: &[&str]) -> Output {
        let ctx = json!({"marker": self.path("marker")}).to_string();
        Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
            .env("ALC_HOME", self.dir.path().join("home"))
            .env_remove("ALC_PACKAGES_PATH")
            .args(["run", &self.path("s.lua"), "--ctx", &ctx])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("binary runs")
    }

    fn resumed(&self) -> bool {
        Path::new(&self.path("marker")).exists()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[cfg(target_os = "linux")]
#[test]
fn dev_full_stops_run_before_the_strategy_resumes() {
    let s = Setup::new();
    let answers = s.path("answers.jsonl");
    let o = s.run(&["--answers", &answers, "--transcript", "/dev/full"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "error: transcript /dev/full: write failed: No space left on device (os error 28); \
             the answer to q-1 was not acknowledged\n"
        ),
        "{err}"
    );
    assert!(
        !s.resumed(),
        "the strategy went on after an unrecorded answer"
    );
    assert!(!err.contains("RESUMED"), "{err}");
    assert!(
        o.stdout.is_empty(),
        "no result: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[cfg(unix)]
#[test]
fn a_transcript_directory_removed_mid_run_stops_it() {
    let s = Setup::new();
    let run_dir = s.path("run");
    let transcript = format!("{run_dir}/t.jsonl");
    // The answer command removes the transcript's directory, then answers.
    let cmd = format!("rm -rf '{run_dir}' && echo yes");
    let o = s.run(&["--answer-cmd", &cmd, "--transcript", &transcript]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: transcript {transcript}: write failed: the file was deleted, or its \
             directory removed, while recording; the answer to q-1 was not acknowledged\n"
        )),
        "{err}"
    );
    assert!(
        !s.resumed(),
        "the strategy went on after an unrecorded answer"
    );
    assert!(
        !Path::new(&run_dir).exists(),
        "the directory is not made again"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_strategy_that_asks_nothing_still_reports_an_incomplete_transcript() {
    let s = Setup::new();
    std::fs::write(s.dir.path().join("quiet.lua"), "return 42").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .env("ALC_HOME", s.dir.path().join("home"))
        .args(["run", &s.path("quiet.lua"), "--transcript", "/dev/full"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "42");
    assert!(
        err.contains(
            "error: transcript /dev/full: write failed: No space left on device (os error 28); \
             the transcript is incomplete\n"
        ),
        "{err}"
    );
}

#[test]
fn a_writable_transcript_changes_nothing() {
    let s = Setup::new();
    let answers = s.path("answers.jsonl");
    let transcript = s.path("t.jsonl");
    let o = s.run(&["--answers", &answers, "--transcript", &transcript]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(s.resumed());
    let text = std::fs::read_to_string(&transcript).unwrap();
    let kinds: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "\"session\"",
            "\"query\"",
            "\"answer\"",
            "\"resumed\"",
            "\"log\"",
            "\"end\""
        ]
    );
}
