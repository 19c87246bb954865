//! Providers against local mock HTTP servers (127.0.0.1), one set of scenarios per
//! API (OpenAI-compatible, Anthropic, Ollama): plain and streamed answers, usage,
//! request mapping, retries, auth/404/400 messages, timeouts, cut and malformed
//! streams, and the concurrency limit. Plus `run --provider` end to end.
//! Backoff is 1 ms here (`retry_base_ms`), so the suite stays fast.

#[path = "support/mock_http.rs"]
mod mock_http;
#[path = "support/wire_apis.rs"]
mod wire_apis;

use std::sync::{Arc, Mutex};

use alc_workbench::answer::{AnswerSource, SourceError, TextSink};
use alc_workbench::engine::{AnswerOrigin, Query, Usage};
use alc_workbench::provider::{self, GROUNDED_INSTRUCTION, UNDERSPECIFIED_INSTRUCTION};
use mock_http::{handler, Incoming, MockServer, Piece, Reply};
use serde_json::json;
use wire_apis::{Api, ANTHROPIC, MODEL, OLLAMA, OPENAI};

const KEY_VAR: &str = "ALC_TEST_PROVIDER_KEY";
const KEY: &str = "sk-test-0123456789-secret";

fn query(prompt: &str) -> Query {
    Query {
        max_tokens_capped: None,
        id: "q-1".into(),
        prompt: prompt.into(),
        system: None,
        max_tokens: 64,
        grounded: false,
        underspecified: false,
        site: None,
        batch: None,
        fork: None,
    }
}

/// A provider of `api`'s kind at `server`, with a fast retry base and `more` config.
fn provider_for(api: &Api, server: &MockServer, more: &str) -> Arc<dyn AnswerSource> {
    provider_with_env(api, server, more, Some(KEY))
}

fn provider_with_env(
    api: &Api,
    server: &MockServer,
    more: &str,
    key: Option<&'static str>,
) -> Arc<dyn AnswerSource> {
    let text = format!(
        "[p]\nkind = \"{}\"\nbase_url = \"{}\"\nmodel = \"{MODEL}\"\napi_key_env = \"{KEY_VAR}\"\n\
         retry_base_ms = 1\n{more}\n",
        api.kind,
        (api.base)(&server.url)
    );
    let providers: toml::Table = toml::from_str(&text).expect("test config");
    let env: provider::EnvLookup =
        Arc::new(move |name: &str| (name == KEY_VAR).then(|| key.map(str::to_string)).flatten());
    provider::load_with_env("p", &providers, env)
        .expect("provider builds")
        .source
}

/// A sink that collects the pieces it is given.
fn collector() -> (TextSink, Arc<Mutex<Vec<String>>>) {
    let pieces = Arc::new(Mutex::new(Vec::new()));
    let into = pieces.clone();
    let sink: TextSink = Arc::new(move |piece: &str| into.lock().unwrap().push(piece.to_string()));
    (sink, pieces)
}

fn full_stream(api: &Api, pieces: &[&str], c: u64) -> Vec<Piece> {
    let mut out: Vec<Piece> = (api.stream_start)(21)
        .into_iter()
        .map(Piece::Data)
        .collect();
    out.extend(pieces.iter().map(|p| Piece::Data((api.stream_delta)(p))));
    out.extend((api.stream_end)(c).into_iter().map(Piece::Data));
    out
}

fn failed_message(result: Result<alc_workbench::engine::Answer, SourceError>) -> String {
    match result {
        Err(SourceError::Failed(m)) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

async fn plain_answer(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(200, (api.whole)("Rayleigh scattering.", 12, 4))
    }))
    .await;
    let source = provider_for(api, &server, "stream = false");
    assert_eq!(source.name(), "p");
    let answer = source
        .answer(&query("Why is the sky blue?"))
        .await
        .expect("answers");
    assert_eq!(answer.text, "Rayleigh scattering.");
    assert_eq!(answer.source, AnswerOrigin::Provider);
    assert_eq!(answer.model.as_deref(), Some(MODEL));
    assert_eq!(
        answer.usage,
        Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 4
        })
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, api.path);
    assert_eq!((api.key_of)(&requests[0]).as_deref(), Some(KEY));
    let body = requests[0].json();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["stream"], false);
    assert_eq!(
        (api.user_of)(&body).as_deref(),
        Some("Why is the sky blue?")
    );
}

async fn streamed_answer(api: &'static Api) {
    // The server sends the first piece, then waits until the client has shown it:
    // proof that text is passed on as it arrives, not when the answer is complete.
    let (drip, pieces_rx) = tokio::sync::mpsc::unbounded_channel();
    let pieces_rx = Mutex::new(Some(pieces_rx));
    let server = MockServer::start(handler(move |_| {
        let body = pieces_rx.lock().unwrap().take().expect("one request");
        async move {
            Reply {
                status: 200,
                headers: vec![("content-type".into(), api.stream_type.into())],
                body: mock_http::Body::Chunks(body),
            }
        }
    }))
    .await;
    let source = provider_for(api, &server, "");
    let (first_shown, mut first_seen) = tokio::sync::mpsc::unbounded_channel::<()>();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen_in = seen.clone();
    let sink: TextSink = Arc::new(move |piece: &str| {
        seen_in.lock().unwrap().push(piece.to_string());
        let _ = first_shown.send(());
    });
    let pending = tokio::spawn({
        let source = source.clone();
        async move { source.answer_streaming(&query("Why?"), sink).await }
    });
    for piece in (api.stream_start)(21) {
        drip.send(Piece::Data(piece)).unwrap();
    }
    drip.send(Piece::Data((api.stream_delta)("The sky ")))
        .unwrap();
    // Bounded, so a client that buffers the whole answer fails instead of hanging.
    tokio::time::timeout(std::time::Duration::from_secs(20), first_seen.recv())
        .await
        .expect("the first piece is shown before the rest is sent")
        .expect("sink alive");
    assert_eq!(*seen.lock().unwrap(), ["The sky "]);
    for piece in ["is ", "blue", "."] {
        drip.send(Piece::Data((api.stream_delta)(piece))).unwrap();
    }
    for piece in (api.stream_end)(5) {
        drip.send(Piece::Data(piece)).unwrap();
    }
    drop(drip);
    let answer = pending.await.unwrap().expect("answers");
    assert_eq!(*seen.lock().unwrap(), ["The sky ", "is ", "blue", "."]);
    assert_eq!(answer.text, "The sky is blue.");
    assert_eq!(
        answer.usage,
        Some(Usage {
            prompt_tokens: 21,
            completion_tokens: 5
        })
    );
    assert_eq!(answer.model.as_deref(), Some(MODEL));
    let body = server.requests()[0].json();
    assert_eq!(body["stream"], true);
    if api.kind == "openai" {
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
    }
}

async fn plain_answer_also_streams_by_default(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::chunks(api.stream_type, full_stream(api, &["a", "b"], 2))
    }))
    .await;
    let source = provider_for(api, &server, "");
    let answer = source.answer(&query("p")).await.expect("answers");
    assert_eq!(answer.text, "ab");
    assert_eq!(server.requests()[0].json()["stream"], true);
}

async fn system_max_tokens_and_flags_map(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(200, (api.whole)("ok", 1, 1))
    }))
    .await;
    let source = provider_for(api, &server, "stream = false\nextra = { seed = 42 }");
    let mut q = query("Name a colour.");
    q.system = Some("You are terse.".into());
    q.max_tokens = 77;
    q.grounded = true;
    q.underspecified = true;
    source.answer(&q).await.expect("answers");
    let plain = query("No system here.");
    source.answer(&plain).await.expect("answers");

    let requests = server.requests();
    let body = requests[0].json();
    assert_eq!(
        (api.system_of)(&body).as_deref(),
        Some(
            format!("You are terse.\n\n{GROUNDED_INSTRUCTION}\n\n{UNDERSPECIFIED_INSTRUCTION}")
                .as_str()
        )
    );
    assert_eq!((api.max_tokens_of)(&body), Some(77));
    assert_eq!((api.user_of)(&body).as_deref(), Some("Name a colour."));
    assert_eq!(body["seed"], 42, "extra fields are merged into the body");
    let body = requests[1].json();
    assert_eq!((api.system_of)(&body), None);
    assert_eq!((api.max_tokens_of)(&body), Some(64));
}

async fn grounded_only(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(200, (api.whole)("ok", 1, 1))
    }))
    .await;
    let source = provider_for(api, &server, "stream = false");
    let mut q = query("Who won?");
    q.grounded = true;
    source.answer(&q).await.expect("answers");
    let body = server.requests()[0].json();
    assert_eq!(
        (api.system_of)(&body).as_deref(),
        Some(GROUNDED_INSTRUCTION)
    );
}

async fn rate_limited_then_success(api: &'static Api) {
    let server = MockServer::start(handler(move |incoming: Incoming| async move {
        if incoming.index == 0 {
            Reply::json(429, json!({"error": {"message": "slow down"}}))
                .with_header("retry-after", "0")
        } else {
            Reply::json(200, (api.whole)("second time", 3, 2))
        }
    }))
    .await;
    let source = provider_for(api, &server, "stream = false");
    let answer = source
        .answer(&query("p"))
        .await
        .expect("answers after a retry");
    assert_eq!(answer.text, "second time");
    assert_eq!(server.requests().len(), 2);
}

async fn server_errors_exhaust_retries(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(500, json!({"error": {"message": "internal trouble"}}))
    }))
    .await;
    let source = provider_for(api, &server, "stream = false\nmax_retries = 2");
    let message = failed_message(source.answer(&query("p")).await);
    assert_eq!(server.requests().len(), 3, "1 try + max_retries");
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(message.contains("internal trouble"), "{message}");
    assert!(message.contains("gave up after 3 attempts"), "{message}");
}

async fn unauthorized_names_the_variable_never_the_key(api: &'static Api) {
    for status in [401, 403] {
        let server = MockServer::start(handler(move |_| async move {
            Reply::json(
                status,
                json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}}),
            )
        }))
        .await;
        let source = provider_for(api, &server, "");
        let message = failed_message(source.answer(&query("p")).await);
        assert!(
            message.contains("authentication failed for provider p"),
            "{message}"
        );
        assert!(message.contains(&format!("${KEY_VAR}")), "{message}");
        assert!(!message.contains(KEY), "the key leaked: {message}");
        assert_eq!(server.requests().len(), 1, "auth failures are not retried");
    }
}

async fn missing_key_names_the_variable(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(200, (api.whole)("x", 1, 1))
    }))
    .await;
    let source = provider_with_env(api, &server, "", None);
    let message = failed_message(source.answer(&query("p")).await);
    assert!(
        message.contains(&format!("${KEY_VAR} is not set")),
        "{message}"
    );
    assert!(server.requests().is_empty());
}

async fn not_found_names_model_and_url(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(404, json!({"error": {"message": "no such model"}}))
    }))
    .await;
    let source = provider_for(api, &server, "");
    let message = failed_message(source.answer(&query("p")).await);
    assert!(message.contains(&format!("model \"{MODEL}\"")), "{message}");
    assert!(
        message.contains(&format!("{}{}", server.url, api.path)),
        "{message}"
    );
    assert!(message.contains("no such model"), "{message}");
    assert_eq!(server.requests().len(), 1);
}

async fn bad_request_carries_the_api_message(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::json(
            400,
            json!({"error": {"message": "max_tokens is too large"}}),
        )
    }))
    .await;
    let source = provider_for(api, &server, "");
    let message = failed_message(source.answer(&query("p")).await);
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(message.contains("max_tokens is too large"), "{message}");
    assert_eq!(server.requests().len(), 1);
}

async fn read_timeout_is_retried_then_reported(api: &'static Api) {
    let server = MockServer::start(handler(|_| async { Reply::silent() })).await;
    let source = provider_for(api, &server, "read_timeout_secs = 0.2\nmax_retries = 1");
    match source.answer(&query("p")).await {
        Err(SourceError::Timeout(message)) => {
            assert!(message.contains("no response"), "{message}");
            assert!(message.contains("gave up after 2 attempts"), "{message}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 2);
}

async fn stalled_stream_times_out(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        let mut pieces: Vec<Piece> = (api.stream_start)(1).into_iter().map(Piece::Data).collect();
        pieces.push(Piece::Data((api.stream_delta)("partial")));
        pieces.push(Piece::Stall);
        Reply::chunks(api.stream_type, pieces)
    }))
    .await;
    let source = provider_for(api, &server, "read_timeout_secs = 0.2");
    let (sink, seen) = collector();
    match source.answer_streaming(&query("p"), sink).await {
        Err(SourceError::Timeout(message)) => assert!(message.contains("stalled"), "{message}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(*seen.lock().unwrap(), ["partial"]);
    assert_eq!(
        server.requests().len(),
        1,
        "a started body is never retried"
    );
}

async fn stream_cut_halfway_is_an_error(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        let mut pieces: Vec<Piece> = (api.stream_start)(1).into_iter().map(Piece::Data).collect();
        pieces.push(Piece::Data((api.stream_delta)("half an ")));
        pieces.push(Piece::Cut);
        Reply::chunks(api.stream_type, pieces)
    }))
    .await;
    let source = provider_for(api, &server, "");
    let (sink, seen) = collector();
    let message = failed_message(source.answer_streaming(&query("p"), sink).await);
    assert!(message.contains("cut off"), "{message}");
    assert_eq!(*seen.lock().unwrap(), ["half an "]);
}

async fn stream_ending_without_its_end_marker_is_an_error(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        let mut pieces: Vec<Piece> = (api.stream_start)(1).into_iter().map(Piece::Data).collect();
        pieces.push(Piece::Data((api.stream_delta)("half an ")));
        Reply::chunks(api.stream_type, pieces)
    }))
    .await;
    let source = provider_for(api, &server, "");
    let message = failed_message(source.answer(&query("p")).await);
    assert!(
        message.contains("ended before the answer was complete"),
        "{message}"
    );
}

async fn malformed_json_is_an_error(api: &'static Api) {
    let server = MockServer::start(handler(|_| async {
        Reply::raw(200, "application/json", b"{\"choices\": [ not json")
    }))
    .await;
    let source = provider_for(api, &server, "stream = false");
    let message = failed_message(source.answer(&query("p")).await);
    assert!(message.contains("malformed response"), "{message}");

    let server = MockServer::start(handler(|_| async {
        let mut pieces: Vec<Piece> = (api.stream_start)(1).into_iter().map(Piece::Data).collect();
        pieces.push(Piece::Data(api.garbage.to_vec()));
        Reply::chunks(api.stream_type, pieces)
    }))
    .await;
    let source = provider_for(api, &server, "");
    let message = failed_message(source.answer(&query("p")).await);
    assert!(message.contains("malformed response"), "{message}");
    assert!(message.contains("not JSON"), "{message}");
}

async fn batch_of_ten_respects_max_concurrency(api: &'static Api) {
    // Each request is held until 4 are held at once (or all 10 have come), so the
    // limit is reached for sure; then a moment longer, a window in which a client
    // running more than 4 together would push the server's count past 4. (The wait
    // only widens that window: a correct client passes however the tasks are timed.)
    let server = MockServer::start(handler(move |mut incoming: Incoming| async move {
        let _ = incoming
            .activity
            .wait_for(|a| a.in_flight >= 4 || a.received >= 10)
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let n = incoming.index;
        Reply::json(200, (api.whole)(&format!("answer {n}"), 1, 1))
    }))
    .await;
    let source = provider_for(api, &server, "stream = false\nmax_concurrency = 4");
    let queries: Vec<Query> = (0..10)
        .map(|i| {
            let mut q = query(&format!("question {i}"));
            q.id = format!("q-{i}");
            q
        })
        .collect();
    let answers = futures_util::future::join_all(queries.iter().map(|q| source.answer(q))).await;
    assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
    assert_eq!(server.requests().len(), 10);
    assert_eq!(
        server.max_in_flight(),
        4,
        "never more than max_concurrency, and it is used"
    );
}

macro_rules! api_tests {
    ($module:ident, $api:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn plain_answer() {
                super::plain_answer(&$api).await
            }
            #[tokio::test]
            async fn streamed_answer() {
                super::streamed_answer(&$api).await
            }
            #[tokio::test]
            async fn plain_answer_also_streams_by_default() {
                super::plain_answer_also_streams_by_default(&$api).await
            }
            #[tokio::test]
            async fn system_max_tokens_and_flags_map() {
                super::system_max_tokens_and_flags_map(&$api).await
            }
            #[tokio::test]
            async fn grounded_only() {
                super::grounded_only(&$api).await
            }
            #[tokio::test]
            async fn rate_limited_then_success() {
                super::rate_limited_then_success(&$api).await
            }
            #[tokio::test]
            async fn server_errors_exhaust_retries() {
                super::server_errors_exhaust_retries(&$api).await
            }
            #[tokio::test]
            async fn unauthorized_names_the_variable_never_the_key() {
                super::unauthorized_names_the_variable_never_the_key(&$api).await
            }
            #[tokio::test]
            async fn missing_key_names_the_variable() {
                super::missing_key_names_the_variable(&$api).await
            }
            #[tokio::test]
            async fn not_found_names_model_and_url() {
                super::not_found_names_model_and_url(&$api).await
            }
            #[tokio::test]
            async fn bad_request_carries_the_api_message() {
                super::bad_request_carries_the_api_message(&$api).await
            }
            #[tokio::test]
            async fn read_timeout_is_retried_then_reported() {
                super::read_timeout_is_retried_then_reported(&$api).await
            }
            #[tokio::test]
            async fn stalled_stream_times_out() {
                super::stalled_stream_times_out(&$api).await
            }
            #[tokio::test]
            async fn stream_cut_halfway_is_an_error() {
                super::stream_cut_halfway_is_an_error(&$api).await
            }
            #[tokio::test]
            async fn stream_ending_without_its_end_marker_is_an_error() {
                super::stream_ending_without_its_end_marker_is_an_error(&$api).await
            }
            #[tokio::test]
            async fn malformed_json_is_an_error() {
                super::malformed_json_is_an_error(&$api).await
            }
            #[tokio::test]
            async fn batch_of_ten_respects_max_concurrency() {
                super::batch_of_ten_respects_max_concurrency(&$api).await
            }
        }
    };
}

api_tests!(openai, OPENAI);
api_tests!(anthropic, ANTHROPIC);
api_tests!(ollama, OLLAMA);
