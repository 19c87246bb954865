//! The HTTP plumbing shared by every HTTP provider: the client (reqwest over rustls
//! with the `ring` crypto provider, so no cmake/aws-lc build), API keys, retries with
//! backoff, and turning HTTP failures into clear `SourceError`s.
//!
//! Retry policy: a request is retried, up to `max_retries` times, when no response
//! started (connection refused or reset, connect timeout, no response headers within
//! the read timeout) or the status is 408, 429 or 5xx. The wait is `Retry-After`
//! (seconds, capped at [`MAX_RETRY_AFTER`]) when the server sends it, otherwise
//! exponential backoff from `retry_base` (doubling, capped at [`MAX_BACKOFF`]) with
//! jitter in its upper half. Once a body has started, nothing is retried: streamed
//! text may already have been shown. 401/403/404/400 are never retried.
//!
//! Messages never contain the key: it is only put into a header, and every message
//! leaving this room passes [`scrub`] as well.

use std::error::Error as StdError;
use std::hash::{BuildHasher, Hasher};
use std::sync::Once;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;

use super::config::{EnvLookup, ProviderConfig};
use crate::answer::{format_duration, text_preview, SourceError};

/// Longest `Retry-After` honoured; a server asking for more gets this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Longest computed backoff step.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Characters of an error body quoted in messages.
const BODY_PREVIEW_CHARS: usize = 300;
/// Bytes of an error body read: enough for any API's error object.
const ERROR_BODY_BYTES: usize = 64 * 1024;
/// Shortest value [`scrub`] redacts: replacing a one- or two-character "key"
/// everywhere would turn every message into `[redacted]` soup, and a key that short
/// is no secret anyway.
pub const MIN_REDACTED_LEN: usize = 8;

/// An API key read from the environment. `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl ApiKey {
    /// A header value holding the key, marked sensitive so hyper never logs it.
    pub(crate) fn header(&self, prefix: &str) -> Result<HeaderValue, SourceError> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.0)).map_err(|_| {
            SourceError::Failed("the API key contains characters not allowed in a header".into())
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Reads the key named by `api_key_env` (at request time). `Ok(None)` when the
/// provider is configured to send no key.
pub(crate) fn read_key(
    config: &ProviderConfig,
    env: &EnvLookup,
) -> Result<Option<ApiKey>, SourceError> {
    let Some(var) = &config.api_key_env else {
        return Ok(None);
    };
    match env(var) {
        Some(key) if !key.trim().is_empty() => Ok(Some(ApiKey(key.trim().to_string()))),
        _ => Err(SourceError::Failed(format!(
            "provider {}: the API key variable ${var} is not set (api_key_env of \
             [providers.{}]; use api_key_env = \"\" for a server that needs no key)",
            config.name, config.name
        ))),
    }
}

/// Removes every occurrence of the key from a message, whatever produced it. Keys
/// shorter than [`MIN_REDACTED_LEN`] are left alone.
pub(crate) fn scrub(message: String, key: Option<&ApiKey>) -> String {
    match key {
        Some(key) if key.0.len() >= MIN_REDACTED_LEN && message.contains(&key.0) => {
            message.replace(&key.0, "[redacted]")
        }
        _ => message,
    }
}

/// rustls needs one process-wide crypto provider; ring builds with just a C compiler.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another part of the process installed one first: fine too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for one provider: its connect timeout; read timeouts are applied per
/// request phase in [`send`] and [`next_chunk`].
pub(crate) fn client(config: &ProviderConfig) -> Result<reqwest::Client, String> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("alc-workbench/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| error_chain(&e))
}

/// What a request is, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub provider: &'a str,
    pub url: &'a str,
    pub model: &'a str,
    pub key_env: Option<&'a str>,
}

/// Retry limits of one provider.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
    pub read_timeout: Duration,
}

impl RetryPolicy {
    pub(crate) fn of(config: &ProviderConfig) -> Self {
        RetryPolicy {
            max_retries: config.max_retries,
            base: config.retry_base,
            read_timeout: config.read_timeout,
        }
    }
}

/// One attempt's result.
enum Attempt {
    Response(reqwest::Response),
    Retry {
        error: SourceError,
        retry_after: Option<Duration>,
    },
    Fail(SourceError),
}

/// POSTs `body` (JSON) to the target, retrying as the module docs say. Returns the
/// response once its status is a success; its body is still to be read.
pub(crate) async fn send(
    client: &reqwest::Client,
    target: Target<'_>,
    headers: &HeaderMap,
    body: &[u8],
    policy: RetryPolicy,
) -> Result<reqwest::Response, SourceError> {
    let mut attempt: u32 = 0;
    loop {
        let request = client
            .post(target.url)
            .headers(headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send();
        let outcome = match tokio::time::timeout(policy.read_timeout, request).await {
            Err(_elapsed) => Attempt::Retry {
                error: SourceError::Timeout(format!(
                    "provider {}: no response from {} within {} (read_timeout_secs)",
                    target.provider,
                    target.url,
                    format_duration(policy.read_timeout)
                )),
                retry_after: None,
            },
            Ok(Err(e)) if e.is_builder() => Attempt::Fail(SourceError::Failed(format!(
                "provider {}: cannot build a request for {}: {}",
                target.provider,
                target.url,
                error_chain(&e)
            ))),
            Ok(Err(e)) => Attempt::Retry {
                error: transport_error(target, &e),
                retry_after: None,
            },
            Ok(Ok(response)) if response.status().is_success() => Attempt::Response(response),
            Ok(Ok(response)) => status_failure(target, response, policy.read_timeout).await,
        };
        match outcome {
            Attempt::Response(response) => return Ok(response),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry { error, retry_after } => {
                if attempt >= policy.max_retries {
                    return Err(gave_up(error, attempt + 1));
                }
                tokio::time::sleep(retry_after.unwrap_or_else(|| backoff(policy.base, attempt)))
                    .await;
                attempt += 1;
            }
        }
    }
}

/// The next piece of a response body, `None` at its end. Waits at most the read
/// timeout; a broken connection is an error ("cut off"), never retried.
pub(crate) async fn next_chunk(
    response: &mut reqwest::Response,
    target: Target<'_>,
    read_timeout: Duration,
) -> Result<Option<Vec<u8>>, SourceError> {
    match tokio::time::timeout(read_timeout, response.chunk()).await {
        Err(_elapsed) => Err(SourceError::Timeout(format!(
            "provider {}: the response from {} stalled: nothing for {} (read_timeout_secs)",
            target.provider,
            target.url,
            format_duration(read_timeout)
        ))),
        Ok(Err(e)) => Err(SourceError::Failed(format!(
            "provider {}: the response from {} was cut off: {}",
            target.provider,
            target.url,
            cause_chain(&e)
        ))),
        Ok(Ok(chunk)) => Ok(chunk.map(|bytes| bytes.to_vec())),
    }
}

/// Reads a whole (non-streamed) body, failing with `too_large()` as soon as it passes
/// `limit` bytes.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    target: Target<'_>,
    read_timeout: Duration,
    limit: usize,
    too_large: impl FnOnce() -> SourceError,
) -> Result<Vec<u8>, SourceError> {
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(response, target, read_timeout).await? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of an error body, at most [`ERROR_BODY_BYTES`]: only a preview of it
/// is ever shown. Unreadable is empty: the status still speaks.
async fn read_error_body(
    response: &mut reqwest::Response,
    target: Target<'_>,
    read_timeout: Duration,
) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = next_chunk(response, target, read_timeout).await {
        let room = ERROR_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= ERROR_BODY_BYTES {
            break;
        }
    }
    body
}

/// Maps a non-success status to retry or fail, with the API's own message.
async fn status_failure(
    target: Target<'_>,
    mut response: reqwest::Response,
    read_timeout: Duration,
) -> Attempt {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    // The error body only adds detail: if it cannot be read, the status still speaks.
    let body = read_error_body(&mut response, target, read_timeout).await;
    let detail = api_error_message(&body);
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    };
    let code = status.as_u16();
    let name = target.provider;
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            // The body is left out on purpose: some APIs quote part of the key back.
            let hint = match target.key_env {
                Some(var) => format!("check ${var}"),
                None => "the server wants a key: set api_key_env".to_string(),
            };
            Attempt::Fail(SourceError::Failed(format!(
                "authentication failed for provider {name} (HTTP {code}): {hint}"
            )))
        }
        StatusCode::NOT_FOUND => Attempt::Fail(SourceError::Failed(format!(
            "provider {name}: model \"{}\" or endpoint {} not found (HTTP 404){detail}",
            target.model, target.url
        ))),
        StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
            error: SourceError::Failed(format!(
                "provider {name}: rate limited by {} (HTTP 429){detail}",
                target.url
            )),
            retry_after,
        },
        StatusCode::REQUEST_TIMEOUT => Attempt::Retry {
            error: SourceError::Timeout(format!(
                "provider {name}: {} timed out the request (HTTP 408){detail}",
                target.url
            )),
            retry_after,
        },
        s if s.is_server_error() => Attempt::Retry {
            error: SourceError::Failed(format!(
                "provider {name}: server error from {} (HTTP {code}){detail}",
                target.url
            )),
            retry_after,
        },
        _ => Attempt::Fail(SourceError::Failed(format!(
            "provider {name}: request rejected by {} (HTTP {code}){detail}{}",
            target.url,
            rejection_hint(name, &detail)
        ))),
    }
}

/// What to change when a rejection names the fix: OpenAI's reasoning models answer
/// an HTTP 400 "use 'max_completion_tokens' instead" to a body with `max_tokens`.
fn rejection_hint(provider: &str, detail: &str) -> String {
    if detail.contains("max_completion_tokens") && detail.contains("instead") {
        format!(
            " (this model wants max_completion_tokens: set max_tokens_field = \
             \"max_completion_tokens\" in [providers.{provider}])"
        )
    } else {
        String::new()
    }
}

fn transport_error(target: Target<'_>, e: &reqwest::Error) -> SourceError {
    let what = if e.is_connect() {
        "cannot connect to"
    } else {
        "request failed to"
    };
    let message = format!(
        "provider {}: {what} {}: {}",
        target.provider,
        target.url,
        cause_chain(e)
    );
    if e.is_timeout() {
        SourceError::Timeout(message)
    } else {
        SourceError::Failed(message)
    }
}

/// The last retryable error, saying how many attempts were made.
fn gave_up(error: SourceError, attempts: u32) -> SourceError {
    if attempts <= 1 {
        return error;
    }
    let note = |m: String| format!("{m} (gave up after {attempts} attempts)");
    match error {
        SourceError::Failed(m) => SourceError::Failed(note(m)),
        SourceError::Timeout(m) => SourceError::Timeout(note(m)),
        SourceError::Exhausted(m) => SourceError::Exhausted(note(m)),
    }
}

/// `Retry-After` in seconds (an HTTP date is ignored: backoff applies then).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: f64 = text.parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(seconds).min(MAX_RETRY_AFTER))
}

/// Exponential backoff for retry number `attempt` (0-based), jittered into the
/// upper half of the step so a burst of failed requests does not retry in lockstep.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let step = base
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(MAX_BACKOFF);
    let half = step / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let jitter = if half_ms == 0 {
        0
    } else {
        random_u64() % (half_ms + 1)
    };
    half + Duration::from_millis(jitter)
}

/// A random number from the standard library's per-process hash keys: jitter needs
/// spread, not cryptographic quality, so no extra dependency.
fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// The API's own error message from an error body: `error.message` (OpenAI,
/// Anthropic), `error` as a string (Ollama), `message`, or the body's start.
pub(crate) fn api_error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        let found = json
            .pointer("/error/message")
            .or_else(|| json.get("error").filter(|e| e.is_string()))
            .or_else(|| json.get("message"))
            .and_then(|m| m.as_str());
        if let Some(message) = found {
            return text_preview(message.trim(), BODY_PREVIEW_CHARS);
        }
    }
    text_preview(text, BODY_PREVIEW_CHARS)
}

/// The causes of a reqwest error without its own text, which only repeats the URL
/// the message already names ("error sending request for url (…)").
fn cause_chain(error: &reqwest::Error) -> String {
    match error.source() {
        Some(cause) => error_chain(cause),
        None => error.to_string(),
    }
}

/// An error and its causes, `outer: inner: …` (reqwest's own text omits the cause).
pub(crate) fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
