//! `alc-workbench run --provider NAME` end to end: the real binary, a config file, a
//! mock OpenAI-compatible server on 127.0.0.1. Checks the result, the transcript
//! (source, model, usage, latency; never the key), `--mode` and
//! `--on-provider-error` handling, and exit codes.

#[path = "support/mock_http.rs"]
mod mock_http;

use std::path::Path;
use std::process::{Output, Stdio};

use mock_http::{handler, Incoming, MockServer, Reply};
use serde_json::{json, Value};

const KEY_VAR: &str = "ALC_TEST_CLI_KEY";
const KEY: &str = "sk-cli-test-key-never-shown-42";

/// Answers capital-city questions the way the batch fixture expects.
fn capitals(incoming: Incoming) -> std::future::Ready<Reply> {
    let body = incoming.request.json();
    let prompt = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string();
    let city = ["France:Paris", "Germany:Berlin", "Italy:Rome"]
        .iter()
        .filter_map(|pair| pair.split_once(':'))
        .find(|(country, _)| prompt.contains(country))
        .map(|(_, city)| city)
        .unwrap_or("unknown");
    std::future::ready(Reply::json(
        200,
        json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": city},
                "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 11, "completion_tokens": 2}}),
    ))
}

fn write_config(dir: &Path, server: &MockServer, more: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[providers.mock]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nmodel = \"mock-model\"\n\
         api_key_env = \"{KEY_VAR}\"\nretry_base_ms = 1\nstream = false\n{more}\n",
        server.url
    );
    std::fs::write(&path, text).expect("write config");
    path
}

async fn run(dir: &Path, args: &[&str], key: Option<&str>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_alc-workbench"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(args)
        .env("ALC_HOME", dir.join("alc-home"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env_remove("ALC_PACKAGES_PATH")
        .env_remove(KEY_VAR)
        .stdin(Stdio::null());
    if let Some(key) = key {
        command.env(KEY_VAR, key);
    }
    command.output().await.expect("binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn run_with_a_provider_answers_and_records_model_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start(handler(capitals)).await;
    // $1 per prompt token and $2 per completion token, so the figure is easy to check.
    let prices =
        "[providers.mock.prices]\nprompt_per_mtok = 1000000.0\ncompletion_per_mtok = 2000000.0";
    let config = write_config(dir.path(), &server, prices);
    let transcript = dir.path().join("t.jsonl");
    let out = run(
        dir.path(),
        &[
            "tests/fixtures/batch.lua",
            "--provider",
            "mock",
            "--mode",
            "auto",
            "--config",
            config.to_str().unwrap(),
            "--transcript",
            transcript.to_str().unwrap(),
        ],
        Some(KEY),
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let result: Value = serde_json::from_str(&stdout).expect("result JSON");
    assert_eq!(result["answers"], json!(["Paris", "Berlin", "Rome"]));
    assert!(
        stderr.contains("(provided)"),
        "usage replaces the estimate: {stderr}"
    );
    // 3 calls of 11 prompt + 2 completion tokens: 33 × $1 + 6 × $2.
    assert!(stderr.contains("· $45.0000"), "cost figure: {stderr}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    let recorded = std::fs::read_to_string(&transcript).expect("transcript");
    assert!(!recorded.contains(KEY), "the key is in the transcript");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    let answers: Vec<Value> = recorded
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|e| e["event"] == "answer")
        .collect();
    assert_eq!(answers.len(), 3);
    for answer in answers {
        assert_eq!(answer["source"], "provider");
        assert_eq!(answer["model"], "mock-model");
        assert_eq!(
            answer["provider"], "mock",
            "the provider's name is recorded"
        );
        assert_eq!(
            answer["usage"],
            json!({"prompt_tokens": 11, "completion_tokens": 2})
        );
        assert!(answer["latency_ms"].is_u64());
    }
}

#[tokio::test]
async fn modes_that_need_a_person_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start(handler(capitals)).await;
    let config = write_config(dir.path(), &server, "");
    for mode in ["review", "manual"] {
        let out = run(
            dir.path(),
            &[
                "tests/fixtures/echo.lua",
                "--provider",
                "mock",
                "--mode",
                mode,
                "--config",
                config.to_str().unwrap(),
            ],
            Some(KEY),
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("--mode {mode} needs the workbench")),
            "{stderr}"
        );
    }
    let out = run(
        dir.path(),
        &["tests/fixtures/echo.lua", "--mode", "auto"],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--mode auto needs --provider"));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unknown_provider_is_an_input_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start(handler(capitals)).await;
    let config = write_config(dir.path(), &server, "");
    let out = run(
        dir.path(),
        &[
            "tests/fixtures/echo.lua",
            "--provider",
            "nope",
            "--config",
            config.to_str().unwrap(),
        ],
        Some(KEY),
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no provider named \"nope\"") && stderr.contains("mock"),
        "{stderr}"
    );
}

#[tokio::test]
async fn provider_failure_fails_the_query_when_nobody_can_be_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start(handler(|_| async {
        Reply::json(503, json!({"error": {"message": "overloaded"}}))
    }))
    .await;
    let config = write_config(dir.path(), &server, "max_retries = 1");
    // `ask` (the default) with stdin not a terminal, and `fail`: both fail the query.
    for policy in [None, Some("fail")] {
        let mut args = vec![
            "tests/fixtures/echo.lua",
            "--provider",
            "mock",
            "--config",
            config.to_str().unwrap(),
        ];
        if let Some(policy) = policy {
            args.extend(["--on-provider-error", policy]);
        }
        let out = run(dir.path(), &args, Some(KEY)).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("HTTP 503") && stderr.contains("overloaded"),
            "{stderr}"
        );
        assert!(stderr.contains("gave up after 2 attempts"), "{stderr}");
        assert!(!stderr.contains(KEY));
    }
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn missing_key_fails_the_query_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start(handler(capitals)).await;
    let config = write_config(dir.path(), &server, "");
    let out = run(
        dir.path(),
        &[
            "tests/fixtures/echo.lua",
            "--provider",
            "mock",
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("${KEY_VAR} is not set")),
        "{stderr}"
    );
    assert!(server.requests().is_empty());
}

/// Issue 11: with `--budget-tokens`, a call's output limit is capped to what the budget
/// has left (sent to the server, recorded as `max_tokens_capped` beside the asked
/// `max_tokens`), and a cut-off answer is recorded with `finish` and `served_model`
/// and marked by `run -v`.
#[tokio::test]
async fn a_token_budget_caps_max_tokens_and_a_cut_off_answer_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("long.lua");
    std::fs::write(
        &script,
        "return alc.llm(\"Tell me everything.\", { max_tokens = 1000 })\n",
    )
    .unwrap();
    let server = MockServer::start(handler(|_| {
        std::future::ready(Reply::json(
            200,
            json!({"model": "/models/smol.gguf", "choices": [{"index": 0,
                   "message": {"role": "assistant", "content": "Everything began"},
                   "finish_reason": "length"}],
                   "usage": {"prompt_tokens": 5, "completion_tokens": 140}}),
        ))
    }))
    .await;
    let config = write_config(dir.path(), &server, "");
    let transcript = dir.path().join("t.jsonl");
    let out = run(
        dir.path(),
        &[
            script.to_str().unwrap(),
            "--provider",
            "mock",
            "--mode",
            "auto",
            "--budget-tokens",
            "150",
            "-v",
            "--config",
            config.to_str().unwrap(),
            "--transcript",
            transcript.to_str().unwrap(),
        ],
        Some(KEY),
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sent = server.requests()[0].json()["max_tokens"].as_u64().unwrap();
    assert!(
        sent < 150 && sent > 100,
        "150 tokens less the prompt's estimate, not 1000: {sent}"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let query = lines.iter().find(|l| l["event"] == "query").unwrap();
    assert_eq!(query["max_tokens"], 1000, "what the strategy asked stays");
    assert_eq!(query["max_tokens_capped"], sent);
    let answer = lines.iter().find(|l| l["event"] == "answer").unwrap();
    assert_eq!(answer["finish"], "length");
    assert_eq!(answer["served_model"], "/models/smol.gguf");
    assert_eq!(answer["model"], "mock-model");
    assert!(
        stderr.contains("q-1 ✂ cut off") && stderr.contains("finish = length"),
        "run -v marks the cut-off answer: {stderr}"
    );
}

/// Issue 11: when one item of a batch fails, the batch fails (the strategy catches
/// it here and goes on), and the requests of the other items are closed at the server
/// at once, not left generating until the process ends.
#[tokio::test]
async fn a_failed_batch_item_closes_the_other_requests_at_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("batch.lua");
    std::fs::write(
        &script,
        "local ok = pcall(alc.llm_batch, { \"slow A\", \"fails\", \"slow B\" })\n\
         return { ok = ok, after = alc.llm(\"after\") }\n",
    )
    .unwrap();
    let server = MockServer::start(handler(|mut incoming: Incoming| async move {
        let body = incoming.request.json();
        let prompt = body["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match prompt.as_str() {
            "fails" => {
                // Fail only once both slow requests are being answered.
                let _ = incoming.activity.wait_for(|a| a.received >= 3).await;
                Reply::json(400, json!({"error": {"message": "bad request"}}))
            }
            "after" => {
                // By now the two slow requests should have been dropped by the client.
                let waited = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    incoming.gone.wait_for(|g| *g >= 2),
                )
                .await
                .is_ok();
                let gone = *incoming.gone.borrow();
                let text = format!("gone={gone} waited={waited}");
                Reply::json(
                    200,
                    json!({"choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": text}}]}),
                )
            }
            _ => Reply::endless("application/json", |n| {
                if n % 2 == 0 {
                    mock_http::Piece::Data(b" ".to_vec())
                } else {
                    mock_http::Piece::Pause(std::time::Duration::from_millis(10))
                }
            }),
        }
    }))
    .await;
    let config = write_config(dir.path(), &server, "max_retries = 0");
    let out = run(
        dir.path(),
        &[
            script.to_str().unwrap(),
            "--provider",
            "mock",
            "--mode",
            "auto",
            "--config",
            config.to_str().unwrap(),
        ],
        Some(KEY),
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["ok"], false);
    assert_eq!(result["after"], "gone=2 waited=true");
}
