//! The OpenAI-compatible chat API: `POST {base_url}/chat/completions`.
//!
//! Works with OpenAI and the servers that copy its shape (Ollama's `/v1`, vLLM,
//! llama.cpp's server, LM Studio, OpenRouter). Request: `model`, `messages`
//! (`system` when there is one, then the `user` prompt), `max_tokens`, and when
//! streaming `stream: true` with `stream_options.include_usage` so the final chunk
//! carries token usage. Streamed chunks are SSE `data:` lines; `[DONE]` ends the
//! stream. Pure request/response shaping: no I/O here.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::http::ApiKey;
use super::source::{normalise_finish, text_field, FrameError, Reply, StreamState};
use super::stream::Frame;
use super::{api_error_text, bearer_headers, chat_messages, merge_extra, ProviderConfig};
use crate::answer::SourceError;
use crate::engine::{Query, Usage};

pub(crate) fn url(base_url: &str) -> String {
    format!("{base_url}/chat/completions")
}

pub(crate) fn headers(key: Option<&ApiKey>) -> Result<HeaderMap, SourceError> {
    bearer_headers(key)
}

pub(crate) fn body(config: &ProviderConfig, query: &Query, stream: bool) -> Value {
    let mut body = json!({
        "model": config.model_name(),
        "messages": chat_messages(query),
        "stream": stream,
    });
    // `max_tokens`, or `max_completion_tokens` for OpenAI's reasoning models.
    body[config.max_tokens_field.as_str()] = json!(query.output_limit());
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    merge_extra(&mut body, &config.extra);
    body
}

/// `usage.prompt_tokens` / `usage.completion_tokens`, when both are there.
fn usage(value: &Value) -> Option<Usage> {
    let usage = value.get("usage")?;
    Some(Usage {
        prompt_tokens: usage.get("prompt_tokens")?.as_u64()?,
        completion_tokens: usage.get("completion_tokens")?.as_u64()?,
    })
}

/// A whole response: `choices[0].message.content`.
pub(crate) fn parse_whole(value: &Value) -> Result<Reply, FrameError> {
    if let Some(message) = error_message(value) {
        return Err(FrameError::Api(message));
    }
    let message = value
        .pointer("/choices/0/message")
        .ok_or_else(|| FrameError::Malformed("no choices[0].message in the response".into()))?;
    // A null content (a refusal, a tool call) is an empty answer, not a broken reply.
    let text = match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return Err(FrameError::Malformed(format!(
                "choices[0].message.content is not text: {other}"
            )))
        }
    };
    Ok(Reply {
        text,
        usage: usage(value),
        finish: text_field(value, "/choices/0/finish_reason").map(|r| normalise_finish(&r)),
        served_model: text_field(value, "/model"),
    })
}

/// One SSE event of a streamed response; returns the text it adds.
pub(crate) fn frame(frame: &Frame, state: &mut StreamState) -> Result<Option<String>, FrameError> {
    let data = frame.data.trim();
    if data == "[DONE]" {
        state.complete = true;
        return Ok(None);
    }
    let value: Value = serde_json::from_str(data)
        .map_err(|e| FrameError::Malformed(format!("a stream chunk is not JSON ({e})")))?;
    if let Some(message) = error_message(&value) {
        return Err(FrameError::Api(message));
    }
    if value.get("choices").is_some_and(Value::is_array) {
        state.recognised = true;
    }
    if let Some(usage) = usage(&value) {
        state.prompt_tokens = Some(usage.prompt_tokens);
        state.completion_tokens = Some(usage.completion_tokens);
    }
    if state.served_model.is_none() {
        state.served_model = text_field(&value, "/model");
    }
    let Some(choice) = value.pointer("/choices/0") else {
        // The usage-only chunk has `choices: []`.
        return Ok(None);
    };
    if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
        state.finish_seen = true;
        state.finish = Some(match reason.as_str() {
            Some(word) => normalise_finish(word),
            None => reason.to_string(),
        });
    }
    match choice.pointer("/delta/content") {
        Some(Value::String(piece)) if !piece.is_empty() => Ok(Some(piece.clone())),
        Some(Value::String(_)) | Some(Value::Null) | None => Ok(None),
        Some(other) => Err(FrameError::Malformed(format!(
            "choices[0].delta.content is not text: {other}"
        ))),
    }
}

/// Complete when `[DONE]` came, or the body ended after a `finish_reason` (servers
/// that omit `[DONE]`); a body cut before either is an error.
pub(crate) fn stream_complete(state: &StreamState) -> bool {
    state.complete || state.finish_seen
}

fn error_message(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    Some(api_error_text(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(data: &str) -> Frame {
        Frame {
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn parses_chunks_usage_and_done() {
        let mut state = StreamState::default();
        let chunks = [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
        ];
        let pieces: Vec<String> = chunks
            .iter()
            .filter_map(|c| frame(&frame_of(c), &mut state).unwrap())
            .collect();
        assert_eq!(pieces, ["Hel", "lo"]);
        assert!(state.finish_seen && !state.complete);
        assert!(state.recognised);
        assert_eq!(frame(&frame_of("[DONE]"), &mut state).unwrap(), None);
        assert!(stream_complete(&state));
        assert_eq!(
            state.usage(),
            Some(Usage {
                prompt_tokens: 9,
                completion_tokens: 2
            })
        );
    }

    #[test]
    fn chunks_without_choices_are_not_recognised() {
        let mut state = StreamState::default();
        let wrong = frame(
            &frame_of(r#"{"object":"text_completion","text":"hi"}"#),
            &mut state,
        );
        assert_eq!(wrong, Ok(None));
        assert_eq!(frame(&frame_of("[DONE]"), &mut state), Ok(None));
        assert!(stream_complete(&state) && !state.recognised);
    }

    #[test]
    fn errors_and_garbage() {
        let mut state = StreamState::default();
        assert!(matches!(
            frame(&frame_of("{not json"), &mut state),
            Err(FrameError::Malformed(_))
        ));
        assert_eq!(
            frame(
                &frame_of(r#"{"error":{"message":"overloaded"}}"#),
                &mut state
            ),
            Err(FrameError::Api("overloaded".into()))
        );
        assert!(parse_whole(&json!({"id": "x"})).is_err());
        let whole = parse_whole(&json!({
            "choices": [{"message": {"role": "assistant", "content": null}}]
        }))
        .unwrap();
        assert_eq!(whole.text, "");
        assert_eq!(whole.usage, None);
    }
}
