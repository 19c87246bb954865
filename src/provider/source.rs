//! [`HttpProvider`]: the answer source behind the `openai`, `anthropic` and `ollama`
//! kinds. One request per query, at most `max_concurrency` at once (a semaphore held
//! from the first attempt to the last byte, retries included), streamed or whole as
//! `stream` says. The API-specific shaping lives in `openai.rs`, `anthropic.rs` and
//! `ollama.rs`; this file is the part they share.
//!
//! Streaming contract for drivers (the TUI's Pending pane): `answer_streaming` calls
//! `on_text` with each new piece of text, in order, on the task polling the future,
//! as soon as a piece is decoded; the final `Answer::text` is exactly the pieces
//! joined. With `stream = false` the whole text is passed to `on_text` once. A failure
//! after some pieces were delivered is still a failure (the pieces are not an answer).
//!
//! Bounds: a whole request (retries and the whole body included) must finish within
//! `request_timeout_secs`, so a body that trickles or never ends fails; the answer
//! text may not pass `max_answer_bytes` (`--max-answer-mb`), and what is buffered
//! while decoding is bounded too, so memory stays bounded whatever a server sends. A
//! stream that is well-formed but carries none of the API's answer fields (the wrong
//! endpoint, a different API) is an error, not an empty answer.
//!
//! Does HTTP through `http.rs`; no files, no terminal.

use std::time::Instant;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::config::{EnvLookup, ProviderConfig, ProviderKind};
use super::http::{self, ApiKey, RetryPolicy, Target};
use super::stream::{Frame, FrameDecoder, Framing};
use super::{anthropic, ollama, openai, ProviderError};
use crate::answer::{
    elapsed_ms, format_duration, text_preview, AnswerFuture, AnswerSource, SourceError, TextSink,
};
use crate::engine::{Answer, AnswerOrigin, Query, Usage};
use crate::limits::answer_too_large;

/// Characters of an unparsable body quoted in the error.
const BAD_BODY_PREVIEW_CHARS: usize = 200;

/// What a whole response or a finished stream yields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub text: String,
    pub usage: Option<Usage>,
    /// Why the model stopped, normalised (see [`normalise_finish`]).
    pub finish: Option<String>,
    /// The model the server reported.
    pub served_model: Option<String>,
}

/// Why a response could not be read as an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FrameError {
    /// Not the shape the API documents (not JSON, fields missing).
    Malformed(String),
    /// The API said something went wrong (an `error` object or event).
    Api(String),
}

/// What a stream has told so far, beyond its text.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// The API's end marker arrived (`[DONE]`, `message_stop`, `done: true`).
    pub complete: bool,
    /// OpenAI: a choice reported its `finish_reason`.
    pub finish_seen: bool,
    /// Some frame had the API's answer shape (`choices`, a Messages API event,
    /// a chat `message`); without one the stream is the wrong kind of stream.
    pub recognised: bool,
    /// Why the model stopped, normalised, once the stream said.
    pub finish: Option<String>,
    /// The model the stream reported.
    pub served_model: Option<String>,
}

impl StreamState {
    /// Usage when the stream reported both counts; otherwise the engine estimates.
    pub(crate) fn usage(&self) -> Option<Usage> {
        Some(Usage {
            prompt_tokens: self.prompt_tokens?,
            completion_tokens: self.completion_tokens?,
        })
    }
}

/// One name for why a model stopped, whichever API said it: OpenAI's
/// `finish_reason`, Anthropic's `stop_reason`, Ollama's `done_reason`. `stop`,
/// `length` (cut off at the output limit), `content_filter` or `tool_calls`, else
/// the API's own word as it came.
pub(crate) fn normalise_finish(raw: &str) -> String {
    match raw {
        "stop" | "end_turn" | "stop_sequence" | "eos" => "stop",
        "length" | "max_tokens" | "model_length" => "length",
        "content_filter" | "refusal" | "safety" => "content_filter",
        "tool_calls" | "tool_use" | "function_call" => "tool_calls",
        other => other,
    }
    .to_string()
}

/// A JSON string field as an owned string, when it is a non-empty string.
pub(crate) fn text_field(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The API a provider speaks; dispatches to the module shaping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    OpenAi,
    Anthropic,
    Ollama,
}

impl Wire {
    fn url(self, base_url: &str) -> String {
        match self {
            Wire::OpenAi => openai::url(base_url),
            Wire::Anthropic => anthropic::url(base_url),
            Wire::Ollama => ollama::url(base_url),
        }
    }

    fn headers(
        self,
        config: &ProviderConfig,
        key: Option<&ApiKey>,
    ) -> Result<reqwest::header::HeaderMap, SourceError> {
        match self {
            Wire::OpenAi => openai::headers(key),
            Wire::Anthropic => anthropic::headers(config, key),
            Wire::Ollama => ollama::headers(key),
        }
    }

    fn body(self, config: &ProviderConfig, query: &Query, stream: bool) -> Value {
        match self {
            Wire::OpenAi => openai::body(config, query, stream),
            Wire::Anthropic => anthropic::body(config, query, stream),
            Wire::Ollama => ollama::body(config, query, stream),
        }
    }

    fn framing(self) -> Framing {
        match self {
            Wire::OpenAi | Wire::Anthropic => Framing::Sse,
            Wire::Ollama => Framing::Ndjson,
        }
    }

    fn parse_whole(self, value: &Value) -> Result<Reply, FrameError> {
        match self {
            Wire::OpenAi => openai::parse_whole(value),
            Wire::Anthropic => anthropic::parse_whole(value),
            Wire::Ollama => ollama::parse_whole(value),
        }
    }

    fn frame(self, frame: &Frame, state: &mut StreamState) -> Result<Option<String>, FrameError> {
        match self {
            Wire::OpenAi => openai::frame(frame, state),
            Wire::Anthropic => anthropic::frame(frame, state),
            Wire::Ollama => ollama::frame(frame, state),
        }
    }

    /// What a stream of this API carries, for the wrong-shape message.
    fn expected_shape(self) -> &'static str {
        match self {
            Wire::OpenAi => "an OpenAI chat completion chunk (with `choices`)",
            Wire::Anthropic => {
                "an Anthropic Messages API event (message_start, content_block_delta…)"
            }
            Wire::Ollama => "an Ollama chat line (with `message`)",
        }
    }

    fn stream_complete(self, state: &StreamState) -> bool {
        match self {
            Wire::OpenAi => openai::stream_complete(state),
            Wire::Anthropic => anthropic::stream_complete(state),
            Wire::Ollama => ollama::stream_complete(state),
        }
    }
}

/// A provider reached over HTTP (see the module docs).
pub struct HttpProvider {
    config: ProviderConfig,
    wire: Wire,
    url: String,
    env: EnvLookup,
    client: reqwest::Client,
    permits: Semaphore,
}

impl std::fmt::Debug for HttpProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProvider")
            .field("name", &self.config.name)
            .field("kind", &self.config.kind)
            .field("url", &self.url)
            .field("model", &self.config.model)
            .field("api_key_env", &self.config.api_key_env)
            .finish_non_exhaustive()
    }
}

impl HttpProvider {
    /// A provider for `config` (an `openai`, `anthropic` or `ollama` kind). `env`
    /// supplies the API key at request time.
    pub fn new(config: ProviderConfig, env: EnvLookup) -> Result<Self, ProviderError> {
        let wire = match config.kind {
            ProviderKind::OpenAi => Wire::OpenAi,
            ProviderKind::Anthropic => Wire::Anthropic,
            ProviderKind::Ollama => Wire::Ollama,
            ProviderKind::Command => {
                return Err(ProviderError::Invalid {
                    name: config.name.clone(),
                    message: "a command provider is not an HTTP provider".into(),
                })
            }
        };
        let client = http::client(&config).map_err(|message| ProviderError::Http {
            name: config.name.clone(),
            message,
        })?;
        Ok(HttpProvider {
            url: wire.url(&config.base_url),
            permits: Semaphore::new(config.max_concurrency),
            wire,
            env,
            client,
            config,
        })
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn run(&self, query: Query, sink: Option<TextSink>) -> Result<Answer, SourceError> {
        // The semaphore is never closed, so acquiring only fails if that changes.
        let _permit = self.permits.acquire().await.map_err(|_| {
            SourceError::Failed(format!("provider {} was shut down", self.config.name))
        })?;
        let start = Instant::now();
        let key = http::read_key(&self.config, &self.env)?;
        let deadline = self.config.request_timeout;
        let reply =
            match tokio::time::timeout(deadline, self.exchange(&query, key.as_ref(), sink)).await {
                Ok(reply) => reply.map_err(|error| scrub_error(error, key.as_ref()))?,
                Err(_elapsed) => {
                    return Err(SourceError::Timeout(format!(
                        "provider {}: no complete answer from {} within {} (request_timeout_secs)",
                        self.config.name,
                        self.url,
                        format_duration(deadline)
                    )))
                }
            };
        Ok(Answer {
            text: reply.text,
            source: AnswerOrigin::Provider,
            model: self.config.model.clone(),
            usage: reply.usage,
            latency_ms: elapsed_ms(start),
            provider: Some(self.config.name.clone()),
            finish: reply.finish,
            served_model: reply.served_model,
        })
    }

    fn target(&self) -> Target<'_> {
        Target {
            provider: &self.config.name,
            url: &self.url,
            model: self.config.model_name(),
            key_env: self.config.api_key_env.as_deref(),
        }
    }

    async fn exchange(
        &self,
        query: &Query,
        key: Option<&ApiKey>,
        sink: Option<TextSink>,
    ) -> Result<Reply, SourceError> {
        let stream = self.config.stream;
        let headers = self.wire.headers(&self.config, key)?;
        let body =
            serde_json::to_vec(&self.wire.body(&self.config, query, stream)).map_err(|e| {
                SourceError::Failed(format!(
                    "provider {}: cannot encode the request: {e}",
                    self.config.name
                ))
            })?;
        let target = self.target();
        let policy = RetryPolicy::of(&self.config);
        let mut response = http::send(&self.client, target, &headers, &body, policy).await?;
        if stream {
            return self.read_stream(&mut response, sink).await;
        }
        let bytes = http::read_body(
            &mut response,
            target,
            self.config.read_timeout,
            body_limit(self.config.max_answer_bytes),
            || self.too_large(),
        )
        .await?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            SourceError::Failed(format!(
                "provider {}: malformed response from {}: not JSON ({e}); it starts: {:?}",
                self.config.name,
                self.url,
                text_preview(&String::from_utf8_lossy(&bytes), BAD_BODY_PREVIEW_CHARS)
            ))
        })?;
        let reply = self
            .wire
            .parse_whole(&value)
            .map_err(|e| self.frame_error(e))?;
        if reply.text.len() > self.config.max_answer_bytes {
            return Err(self.too_large());
        }
        if let Some(sink) = sink.filter(|_| !reply.text.is_empty()) {
            sink(&reply.text);
        }
        Ok(reply)
    }

    /// Reads a streamed body to the API's end marker, passing text pieces on.
    async fn read_stream(
        &self,
        response: &mut reqwest::Response,
        sink: Option<TextSink>,
    ) -> Result<Reply, SourceError> {
        let target = self.target();
        let mut decoder = FrameDecoder::new(self.wire.framing());
        let mut state = StreamState::default();
        let mut text = String::new();
        let mut frames_seen: usize = 0;
        let buffer_limit = body_limit(self.config.max_answer_bytes);
        loop {
            let chunk = http::next_chunk(response, target, self.config.read_timeout).await?;
            let ended = chunk.is_none();
            let frames = match &chunk {
                Some(bytes) => decoder.push(bytes),
                None => decoder.finish(),
            };
            // One endless line or event would otherwise be buffered without end.
            if decoder.buffered_len() > buffer_limit {
                return Err(self.too_large());
            }
            frames_seen += frames.len();
            for frame in &frames {
                let piece = self
                    .wire
                    .frame(frame, &mut state)
                    .map_err(|e| self.frame_error(e))?;
                if let Some(piece) = piece {
                    if text.len() + piece.len() > self.config.max_answer_bytes {
                        return Err(self.too_large());
                    }
                    text.push_str(&piece);
                    if let Some(sink) = &sink {
                        sink(&piece);
                    }
                }
            }
            // Stop at the end marker rather than waiting for the server to close.
            if state.complete || ended {
                break;
            }
        }
        if frames_seen > 0 && !state.recognised {
            return Err(SourceError::Failed(format!(
                "provider {}: the stream from {} carried no answer: none of its {frames_seen} \
                 event{} was {} (is base_url right for kind = \"{}\"?)",
                self.config.name,
                self.url,
                if frames_seen == 1 { "" } else { "s" },
                self.wire.expected_shape(),
                self.config.kind.label()
            )));
        }
        if !self.wire.stream_complete(&state) {
            return Err(SourceError::Failed(format!(
                "provider {}: the stream from {} ended before the answer was complete \
                 ({} characters received)",
                self.config.name,
                self.url,
                text.chars().count()
            )));
        }
        Ok(Reply {
            text,
            usage: state.usage(),
            finish: state.finish,
            served_model: state.served_model,
        })
    }

    fn too_large(&self) -> SourceError {
        SourceError::Failed(answer_too_large(
            &format!(
                "provider {}: the answer from {}",
                self.config.name, self.url
            ),
            self.config.max_answer_bytes,
        ))
    }

    fn frame_error(&self, error: FrameError) -> SourceError {
        SourceError::Failed(match error {
            FrameError::Malformed(m) => format!(
                "provider {}: malformed response from {}: {m}",
                self.config.name, self.url
            ),
            FrameError::Api(m) => format!(
                "provider {}: the API reported an error: {m}",
                self.config.name
            ),
        })
    }
}

/// Bytes a body may take while being read or decoded: the answer plus its JSON
/// framing (escapes, field names, one event per piece of text) — generous, but bounded.
fn body_limit(max_answer_bytes: usize) -> usize {
    max_answer_bytes
        .saturating_mul(2)
        .saturating_add(1024 * 1024)
}

fn scrub_error(error: SourceError, key: Option<&ApiKey>) -> SourceError {
    match error {
        SourceError::Failed(m) => SourceError::Failed(http::scrub(m, key)),
        SourceError::Timeout(m) => SourceError::Timeout(http::scrub(m, key)),
        SourceError::Exhausted(m) => SourceError::Exhausted(http::scrub(m, key)),
    }
}

impl AnswerSource for HttpProvider {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        Box::pin(self.run(query.clone(), None))
    }

    fn answer_streaming<'a>(&'a self, query: &Query, on_text: TextSink) -> AnswerFuture<'a> {
        Box::pin(self.run(query.clone(), Some(on_text)))
    }
}
