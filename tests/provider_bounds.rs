//! Providers are bounded, against the local mock server, for each API: a body that
//! trickles forever or never ends fails on `request_timeout_secs` or on the maximum
//! answer size, with bounded memory; a stream of the wrong shape is an error, not an
//! empty answer; an oversized whole response fails too.

#[path = "support/mock_http.rs"]
mod mock_http;
#[path = "support/wire_apis.rs"]
mod wire_apis;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alc_workbench::answer::{AnswerSource, SourceError};
use alc_workbench::engine::Query;
use alc_workbench::provider::{self, ProviderConfig};
use mock_http::{handler, MockServer, Piece, Reply};
use serde_json::json;
use wire_apis::{Api, ANTHROPIC, MODEL, OLLAMA, OPENAI};

const MIB: usize = 1024 * 1024;

fn query() -> Query {
    Query {
        max_tokens_capped: None,
        id: "q-1".into(),
        prompt: "p".into(),
        system: None,
        max_tokens: 64,
        grounded: false,
        underspecified: false,
        site: None,
        batch: None,
        fork: None,
    }
}

/// A provider of `api`'s kind at `server` with `more` config, taking answers of at
/// most `max_answer_bytes` (what `--max-answer-mb` sets).
fn provider_for(
    api: &Api,
    server: &MockServer,
    more: &str,
    max_answer_bytes: usize,
) -> Arc<dyn AnswerSource> {
    let text = format!(
        "[p]\nkind = \"{}\"\nbase_url = \"{}\"\nmodel = \"{MODEL}\"\napi_key_env = \"\"\n\
         retry_base_ms = 1\n{more}\n",
        api.kind,
        (api.base)(&server.url)
    );
    let providers: toml::Table = toml::from_str(&text).expect("test config");
    let env: provider::EnvLookup = Arc::new(|_: &str| None);
    let mut config =
        ProviderConfig::from_table_with_env("p", &providers, &env).expect("valid config");
    config.max_answer_bytes = max_answer_bytes;
    provider::from_config(config, env)
        .expect("provider builds")
        .source
}

fn start_pieces(api: &Api) -> Vec<Vec<u8>> {
    (api.stream_start)(1)
}

/// A frame that carries nothing and keeps the stream alive.
fn keep_alive(api: &Api) -> Vec<u8> {
    match api.kind {
        "ollama" => b"\n".to_vec(),
        _ => b": ping\n\n".to_vec(),
    }
}

/// A well-formed stream of another API's shape (legacy completions, Anthropic's old
/// Text Completions, Ollama's /api/generate): each piece, then the end of the body.
fn wrong_shape(api: &Api) -> Vec<Vec<u8>> {
    let texts: Vec<String> = match api.kind {
        "openai" => vec![
            format!(
                "data: {}\n\n",
                json!({"object": "text_completion", "text": "hi"})
            ),
            "data: [DONE]\n\n".into(),
        ],
        "anthropic" => vec![format!(
            "event: completion\ndata: {}\n\n",
            json!({"type": "completion", "completion": "hi", "stop_reason": "stop_sequence"})
        )],
        _ => vec![
            format!(
                "{}\n",
                json!({"model": MODEL, "response": "hi", "done": false})
            ),
            format!(
                "{}\n",
                json!({"model": MODEL, "response": "", "done": true})
            ),
        ],
    };
    texts.into_iter().map(String::into_bytes).collect()
}

fn failure(result: Result<alc_workbench::engine::Answer, SourceError>) -> SourceError {
    match result {
        Err(e) => e,
        Ok(answer) => panic!(
            "expected a failure, got an answer of {} bytes",
            answer.text.len()
        ),
    }
}

async fn trickle_fails_on_the_request_deadline(api: &'static Api) {
    // One byte every 100 ms, forever: the read timeout (default 120 s) never fires.
    let server = MockServer::start(handler(|_| async {
        let start = start_pieces(api);
        Reply::endless(api.stream_type, move |n| match start.get(n) {
            Some(piece) => Piece::Data(piece.clone()),
            None if n % 2 == 0 => Piece::Data(b" ".to_vec()),
            None => Piece::Pause(Duration::from_millis(100)),
        })
    }))
    .await;
    let source = provider_for(api, &server, "request_timeout_secs = 1", 16 * MIB);
    let started = Instant::now();
    let error = failure(source.answer(&query()).await);
    assert_eq!(
        error,
        SourceError::Timeout(format!(
            "provider p: no complete answer from {} within 1s (request_timeout_secs)",
            server.url.clone() + api.path
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

async fn endless_text_fails_on_the_answer_size(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        let start = start_pieces(api);
        let delta = (api.stream_delta)(&"x".repeat(64 * 1024));
        Reply::endless(api.stream_type, move |n| {
            Piece::Data(start.get(n).cloned().unwrap_or_else(|| delta.clone()))
        })
    }))
    .await;
    let source = provider_for(api, &server, "", MIB);
    let error = failure(source.answer(&query()).await);
    assert_eq!(
        error,
        SourceError::Failed(format!(
            "provider p: the answer from {} exceeded the maximum answer size of 1 MiB \
             (raise it with --max-answer-mb)",
            server.url.clone() + api.path
        ))
    );
}

async fn endless_line_fails_on_the_buffer_bound(api: &'static Api) {
    // One line that never ends: nothing is ever decoded, so only the bound on what
    // is buffered stops it (long before the 600 s deadline).
    let server = MockServer::start(handler(|_| async {
        Reply::endless(api.stream_type, |_| Piece::Data(vec![b'x'; 64 * 1024]))
    }))
    .await;
    let source = provider_for(api, &server, "", MIB);
    let error = failure(source.answer(&query()).await);
    assert!(
        error
            .to_string()
            .contains("exceeded the maximum answer size of 1 MiB"),
        "{error}"
    );
}

async fn endless_keep_alives_fail_on_the_deadline(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        let start = start_pieces(api);
        let idle = keep_alive(api);
        Reply::endless(api.stream_type, move |n| {
            Piece::Data(start.get(n).cloned().unwrap_or_else(|| idle.clone()))
        })
    }))
    .await;
    let source = provider_for(api, &server, "request_timeout_secs = 1", MIB);
    let error = failure(source.answer(&query()).await);
    assert!(
        matches!(&error, SourceError::Timeout(m) if m.contains("request_timeout_secs")),
        "{error:?}"
    );
}

async fn wrong_shape_stream_is_an_error(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::chunks(
            api.stream_type,
            wrong_shape(api).into_iter().map(Piece::Data).collect(),
        )
    }))
    .await;
    let source = provider_for(api, &server, "", MIB);
    let error = failure(source.answer(&query()).await);
    let SourceError::Failed(message) = &error else {
        panic!("expected a failure, got {error:?}");
    };
    assert!(
        message.starts_with(&format!(
            "provider p: the stream from {} carried no answer: none of its",
            server.url.clone() + api.path
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("kind = \"{}\"", api.kind)),
        "{message}"
    );
}

async fn oversized_whole_answer_is_an_error(api: &'static Api) {
    // Within the body bound but over the answer size once decoded.
    let big = "y".repeat(MIB + MIB / 2);
    let server = MockServer::start(handler(move |_| {
        let body = (api.whole)(&big, 1, 1);
        async move { Reply::json(200, body) }
    }))
    .await;
    let source = provider_for(api, &server, "stream = false", MIB);
    let error = failure(source.answer(&query()).await);
    assert!(
        error
            .to_string()
            .contains("exceeded the maximum answer size of 1 MiB"),
        "{error}"
    );
    // Over the body bound: refused while reading.
    let huge = "z".repeat(4 * MIB);
    let server = MockServer::start(handler(move |_| {
        let body = (api.whole)(&huge, 1, 1);
        async move { Reply::json(200, body) }
    }))
    .await;
    let source = provider_for(api, &server, "stream = false", MIB);
    let error = failure(source.answer(&query()).await);
    assert!(
        error
            .to_string()
            .contains("exceeded the maximum answer size of 1 MiB"),
        "{error}"
    );
}

macro_rules! bound_tests {
    ($module:ident, $api:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn trickle_fails_on_the_request_deadline() {
                super::trickle_fails_on_the_request_deadline(&$api).await
            }
            #[tokio::test]
            async fn endless_text_fails_on_the_answer_size() {
                super::endless_text_fails_on_the_answer_size(&$api).await
            }
            #[tokio::test]
            async fn endless_line_fails_on_the_buffer_bound() {
                super::endless_line_fails_on_the_buffer_bound(&$api).await
            }
            #[tokio::test]
            async fn endless_keep_alives_fail_on_the_deadline() {
                super::endless_keep_alives_fail_on_the_deadline(&$api).await
            }
            #[tokio::test]
            async fn wrong_shape_stream_is_an_error() {
                super::wrong_shape_stream_is_an_error(&$api).await
            }
            #[tokio::test]
            async fn oversized_whole_answer_is_an_error() {
                super::oversized_whole_answer_is_an_error(&$api).await
            }
        }
    };
}

bound_tests!(openai, OPENAI);
bound_tests!(anthropic, ANTHROPIC);
bound_tests!(ollama, OLLAMA);
