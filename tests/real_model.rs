//! Opt-in tests against a real model: llama.cpp's `llama-server` serving
//! SmolLM2-135M-Instruct on 127.0.0.1, started by `scripts/real-model.sh`, which sets
//! `ALC_REAL_MODEL_URL` (the server's root) and `ALC_REAL_MODEL_LOG` (its log file).
//! Without them every test here says it is skipped and passes: `cargo test` never
//! needs a model.
//!
//! They assert structure only (text arrived, usage present, `finish`, the cancel in
//! the server's log), never a 135M model's words. Figures (latency, tokens/s) are
//! printed for the record, not asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alc_workbench::answer::{AnswerSource, TextSink};
use alc_workbench::engine::{Answer, Query};
use alc_workbench::provider;

fn server() -> Option<String> {
    match std::env::var("ALC_REAL_MODEL_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_string()),
        _ => {
            eprintln!(
                "skipped: ALC_REAL_MODEL_URL is not set (scripts/real-model.sh starts a \
                 local llama-server and sets it)"
            );
            None
        }
    }
}

/// A provider of `kind` (`openai` or `anthropic`) at the local server.
fn provider_of(url: &str, kind: &str, more: &str) -> Arc<dyn AnswerSource> {
    let base = match kind {
        "openai" => format!("{url}/v1"),
        _ => url.to_string(),
    };
    let text = format!(
        "[local]\nkind = \"{kind}\"\nbase_url = \"{base}\"\nmodel = \"smollm2\"\n\
         api_key_env = \"\"\nread_timeout_secs = 120\n{more}\n"
    );
    let providers: toml::Table = toml::from_str(&text).expect("config");
    provider::load_with_env("local", &providers, Arc::new(|_: &str| None))
        .expect("provider builds")
        .source
}

fn ask(id: &str, prompt: &str, max_tokens: u32) -> Query {
    Query {
        id: id.into(),
        prompt: prompt.into(),
        system: Some("You are a helpful assistant. Answer briefly.".into()),
        max_tokens,
        grounded: false,
        underspecified: false,
        site: None,
        batch: None,
        fork: None,
        max_tokens_capped: None,
    }
}

fn report(what: &str, answer: &Answer, wall: Duration) {
    let completion = answer.usage.map_or(0, |u| u.completion_tokens);
    let secs = wall.as_secs_f64().max(1e-6);
    eprintln!(
        "{what}: {} ms, {completion} completion tokens, {:.1} tokens/s, finish {:?}, served {:?}",
        wall.as_millis(),
        completion as f64 / secs,
        answer.finish,
        answer.served_model
    );
}

fn check_answer(what: &str, answer: &Answer) {
    assert!(!answer.text.trim().is_empty(), "{what}: no text");
    let usage = answer.usage.unwrap_or_else(|| panic!("{what}: no usage"));
    assert!(
        usage.prompt_tokens > 0 && usage.completion_tokens > 0,
        "{what}: {usage:?}"
    );
    assert!(answer.finish.is_some(), "{what}: no finish");
    assert!(answer.served_model.is_some(), "{what}: no served model");
}

#[tokio::test]
async fn streamed_and_plain_answers_through_openai_and_anthropic() {
    let Some(url) = server() else { return };
    for kind in ["openai", "anthropic"] {
        for stream in [true, false] {
            let p = provider_of(&url, kind, &format!("stream = {stream}"));
            let pieces = Arc::new(std::sync::Mutex::new(0usize));
            let counter = pieces.clone();
            let sink: TextSink = Arc::new(move |_: &str| *counter.lock().unwrap() += 1);
            let start = Instant::now();
            let answer = p
                .answer_streaming(
                    &ask("q-1", "What colour is the sky? One sentence.", 48),
                    sink,
                )
                .await
                .unwrap_or_else(|e| panic!("{kind} stream={stream}: {e}"));
            let what = format!("{kind} stream={stream}");
            report(&what, &answer, start.elapsed());
            check_answer(&what, &answer);
            let pieces = *pieces.lock().unwrap();
            if stream {
                assert!(pieces > 1, "{what}: streamed in {pieces} piece(s)");
            } else {
                assert_eq!(pieces, 1, "{what}: a whole answer is passed on once");
            }
        }
    }
}

#[tokio::test]
async fn a_small_max_tokens_gives_finish_length() {
    let Some(url) = server() else { return };
    for kind in ["openai", "anthropic"] {
        let p = provider_of(&url, kind, "");
        let start = Instant::now();
        let answer = p
            .answer(&ask("q-1", "Count from 1 to 100, separated by commas.", 5))
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        report(&format!("{kind} max_tokens=5"), &answer, start.elapsed());
        assert_eq!(answer.finish.as_deref(), Some("length"), "{kind}");
        assert!(answer.is_cut_off());
        assert!(answer.usage.unwrap().completion_tokens <= 5, "{kind}");
    }
}

#[tokio::test]
async fn dropping_a_stream_cancels_it_at_the_server() {
    let Some(url) = server() else { return };
    let Ok(log) = std::env::var("ALC_REAL_MODEL_LOG") else {
        eprintln!("skipped: ALC_REAL_MODEL_LOG is not set");
        return;
    };
    let cancels = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("cancel task")
            .count()
    };
    let before = cancels();
    let p = provider_of(&url, "openai", "");
    let (first_tx, mut first) = tokio::sync::mpsc::unbounded_channel::<()>();
    let sink: TextSink = Arc::new(move |_: &str| {
        let _ = first_tx.send(());
    });
    let long = ask(
        "q-1",
        "Write a very long story about a lighthouse keeper.",
        2000,
    );
    let start = Instant::now();
    tokio::select! {
        done = p.answer_streaming(&long, sink) => panic!("the long answer ended first: {done:?}"),
        _ = first.recv() => {}
    }
    // Dropped mid-stream: the server must notice and cancel the task. Its log file is
    // the only place that says so, and nothing announces a write to it: poll it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while cancels() == before {
        assert!(
            Instant::now() < deadline,
            "no cancel in the server log ({log}) 20 s after the request was dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "cancel logged {} ms after the stream started",
        start.elapsed().as_millis()
    );
}

#[tokio::test]
async fn a_batch_runs_at_max_concurrency() {
    let Some(url) = server() else { return };
    let p = provider_of(&url, "openai", "max_concurrency = 2");
    let queries: Vec<Query> = (1..=4)
        .map(|i| {
            ask(
                &format!("q-{i}"),
                &format!("Say the number {i} in words."),
                16,
            )
        })
        .collect();
    let start = Instant::now();
    let answers = futures_util::future::join_all(queries.iter().map(|q| p.answer(q))).await;
    let wall = start.elapsed();
    for (i, answer) in answers.iter().enumerate() {
        let answer = answer
            .as_ref()
            .unwrap_or_else(|e| panic!("q-{}: {e}", i + 1));
        check_answer(&format!("batch q-{}", i + 1), answer);
    }
    eprintln!(
        "batch of 4 at max_concurrency 2: {} ms in all",
        wall.as_millis()
    );
}

#[tokio::test]
async fn throughput_of_a_longer_answer() {
    let Some(url) = server() else { return };
    let p = provider_of(&url, "openai", "");
    let start = Instant::now();
    let answer = p
        .answer(&ask(
            "q-1",
            "Write a short story about a lighthouse keeper.",
            128,
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    report("openai max_tokens=128", &answer, start.elapsed());
    check_answer("longer answer", &answer);
    // llama-server names the model by the file it loaded, not the configured name.
    assert_ne!(answer.served_model.as_deref(), answer.model.as_deref());
}
