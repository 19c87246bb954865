//! Anthropic's Messages API: `POST {base_url}/v1/messages`.
//!
//! Headers `x-api-key` and `anthropic-version`. Body: `model`, `max_tokens`
//! (required by the API), top-level `system` when there is one, and `messages` with
//! the one user prompt. Streamed events: `message_start` (`message.usage.input_tokens`
//! plus any cache tokens), `content_block_delta` (`delta.text`), `message_delta`
//! (`usage.output_tokens`, cumulative), `message_stop` (the end), `ping`, and `error`.
//! Pure request/response shaping: no I/O here.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};

use super::http::ApiKey;
use super::source::{normalise_finish, text_field, FrameError, Reply, StreamState};
use super::stream::Frame;
use super::{api_error_text, merge_extra, system_prompt, ProviderConfig};
use crate::answer::SourceError;
use crate::engine::{Query, Usage};

pub(crate) fn url(base_url: &str) -> String {
    format!("{base_url}/v1/messages")
}

pub(crate) fn headers(
    config: &ProviderConfig,
    key: Option<&ApiKey>,
) -> Result<HeaderMap, SourceError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        headers.insert(HeaderName::from_static("x-api-key"), key.header("")?);
    }
    let version = HeaderValue::from_str(&config.anthropic_version).map_err(|_| {
        SourceError::Failed(format!(
            "provider {}: anthropic_version {:?} is not a valid header value",
            config.name, config.anthropic_version
        ))
    })?;
    headers.insert(HeaderName::from_static("anthropic-version"), version);
    Ok(headers)
}

pub(crate) fn body(config: &ProviderConfig, query: &Query, stream: bool) -> Value {
    let mut body = json!({
        "model": config.model_name(),
        "max_tokens": query.output_limit(),
        "messages": [{"role": "user", "content": query.prompt}],
        "stream": stream,
    });
    if let Some(system) = system_prompt(query) {
        body["system"] = Value::String(system);
    }
    merge_extra(&mut body, &config.extra);
    body
}

/// Prompt tokens as billed: plain input plus cache writes and cache reads.
fn input_tokens(usage: &Value) -> Option<u64> {
    let plain = usage.get("input_tokens")?.as_u64()?;
    let cached = ["cache_creation_input_tokens", "cache_read_input_tokens"]
        .iter()
        .filter_map(|k| usage.get(*k).and_then(Value::as_u64))
        .sum::<u64>();
    Some(plain + cached)
}

/// A whole response: the text blocks of `content`, joined.
pub(crate) fn parse_whole(value: &Value) -> Result<Reply, FrameError> {
    if let Some(message) = error_message(value) {
        return Err(FrameError::Api(message));
    }
    let blocks = value
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| FrameError::Malformed("no content array in the response".into()))?;
    let text: String = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let usage = value.get("usage").and_then(|u| {
        Some(Usage {
            prompt_tokens: input_tokens(u)?,
            completion_tokens: u.get("output_tokens")?.as_u64()?,
        })
    });
    Ok(Reply {
        text,
        usage,
        finish: text_field(value, "/stop_reason").map(|r| normalise_finish(&r)),
        served_model: text_field(value, "/model"),
    })
}

/// One SSE event; returns the text it adds. The event kind is read from the data's
/// `type` (always present), falling back to the `event:` line.
pub(crate) fn frame(frame: &Frame, state: &mut StreamState) -> Result<Option<String>, FrameError> {
    let value: Value = serde_json::from_str(frame.data.trim())
        .map_err(|e| FrameError::Malformed(format!("a stream event is not JSON ({e})")))?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .or(frame.event.as_deref())
        .unwrap_or("");
    if matches!(
        kind,
        "message_start"
            | "content_block_start"
            | "content_block_delta"
            | "content_block_stop"
            | "message_delta"
            | "message_stop"
    ) {
        state.recognised = true;
    }
    match kind {
        "message_start" => {
            state.served_model = text_field(&value, "/message/model").or(state.served_model.take());
            if let Some(usage) = value.pointer("/message/usage") {
                state.prompt_tokens = input_tokens(usage).or(state.prompt_tokens);
                if let Some(out) = usage.get("output_tokens").and_then(Value::as_u64) {
                    state.completion_tokens = Some(out);
                }
            }
            Ok(None)
        }
        "content_block_delta" => match value.pointer("/delta/text") {
            Some(Value::String(piece)) if !piece.is_empty() => Ok(Some(piece.clone())),
            // Other delta kinds (thinking, tool input JSON) are not answer text.
            _ => Ok(None),
        },
        "message_delta" => {
            if let Some(reason) = text_field(&value, "/delta/stop_reason") {
                state.finish = Some(normalise_finish(&reason));
            }
            if let Some(usage) = value.get("usage") {
                if let Some(out) = usage.get("output_tokens").and_then(Value::as_u64) {
                    state.completion_tokens = Some(out);
                }
                if let Some(input) = input_tokens(usage) {
                    state.prompt_tokens = Some(input);
                }
            }
            Ok(None)
        }
        "message_stop" => {
            state.complete = true;
            Ok(None)
        }
        "error" => Err(FrameError::Api(
            error_message(&value).unwrap_or_else(|| value.to_string()),
        )),
        // ping, content_block_start, content_block_stop, and future event kinds.
        _ => Ok(None),
    }
}

/// Complete only after `message_stop`.
pub(crate) fn stream_complete(state: &StreamState) -> bool {
    state.complete
}

fn error_message(value: &Value) -> Option<String> {
    if value.get("type").and_then(Value::as_str) != Some("error") && value.get("error").is_none() {
        return None;
    }
    let error = value.get("error")?;
    Some(api_error_text(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: Value) -> Frame {
        Frame {
            event: Some(name.into()),
            data: data.to_string(),
        }
    }

    #[test]
    fn parses_a_stream_with_cache_tokens() {
        let mut state = StreamState::default();
        let events = [
            event(
                "message_start",
                json!({"type": "message_start", "message": {"usage": {
                "input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}}}),
            ),
            event("ping", json!({"type": "ping"})),
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0}),
            ),
            event(
                "content_block_delta",
                json!({"type": "content_block_delta",
                "delta": {"type": "text_delta", "text": "Hi"}}),
            ),
            event(
                "content_block_delta",
                json!({"type": "content_block_delta",
                "delta": {"type": "text_delta", "text": " there"}}),
            ),
            event(
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
            ),
        ];
        let pieces: Vec<String> = events
            .iter()
            .filter_map(|e| frame(e, &mut state).unwrap())
            .collect();
        assert_eq!(pieces, ["Hi", " there"]);
        assert!(!stream_complete(&state));
        frame(
            &event("message_stop", json!({"type": "message_stop"})),
            &mut state,
        )
        .unwrap();
        assert!(stream_complete(&state));
        assert_eq!(
            state.usage(),
            Some(Usage {
                prompt_tokens: 15,
                completion_tokens: 7
            })
        );
    }

    #[test]
    fn error_event_and_whole_response() {
        let mut state = StreamState::default();
        let err = frame(
            &event(
                "error",
                json!({"type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ),
            &mut state,
        );
        assert_eq!(err, Err(FrameError::Api("Overloaded".into())));
        let whole = parse_whole(&json!({"type": "message", "content": [
            {"type": "text", "text": "a"}, {"type": "tool_use"}, {"type": "text", "text": "b"}],
            "usage": {"input_tokens": 3, "output_tokens": 4}}))
        .unwrap();
        assert_eq!(whole.text, "ab");
        assert_eq!(
            whole.usage,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 4
            })
        );
        assert!(matches!(
            parse_whole(&json!({"type": "message"})),
            Err(FrameError::Malformed(_))
        ));
    }
}
