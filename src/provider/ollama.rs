//! Ollama's native chat API: `POST {base_url}/api/chat`.
//!
//! Body: `model`, `messages` (system, user), `stream`, and `options.num_predict` =
//! `max_tokens`. Streamed replies are newline-delimited JSON objects with
//! `message.content`; the last has `done: true` with `prompt_eval_count` and
//! `eval_count` (the token usage). A line with `error` is a failure. No key is needed
//! by Ollama itself; when `api_key_env` is set (a proxy in front) it is sent as a
//! bearer token. Pure request/response shaping: no I/O here.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::http::ApiKey;
use super::source::{normalise_finish, text_field, FrameError, Reply, StreamState};
use super::stream::Frame;
use super::{bearer_headers, chat_messages, merge_extra, ProviderConfig};
use crate::answer::SourceError;
use crate::engine::{Query, Usage};

pub(crate) fn url(base_url: &str) -> String {
    format!("{base_url}/api/chat")
}

pub(crate) fn headers(key: Option<&ApiKey>) -> Result<HeaderMap, SourceError> {
    bearer_headers(key)
}

pub(crate) fn body(config: &ProviderConfig, query: &Query, stream: bool) -> Value {
    let mut body = json!({
        "model": config.model_name(),
        "messages": chat_messages(query),
        "stream": stream,
        "options": {"num_predict": query.output_limit()},
    });
    merge_extra(&mut body, &config.extra);
    body
}

fn usage(value: &Value) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: value.get("prompt_eval_count")?.as_u64()?,
        completion_tokens: value.get("eval_count")?.as_u64()?,
    })
}

fn error_message(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    Some(
        error
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string()),
    )
}

/// A whole response: `message.content`, usage from the counts.
pub(crate) fn parse_whole(value: &Value) -> Result<Reply, FrameError> {
    if let Some(message) = error_message(value) {
        return Err(FrameError::Api(message));
    }
    let text = value
        .pointer("/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| FrameError::Malformed("no message.content in the response".into()))?;
    Ok(Reply {
        text: text.to_string(),
        usage: usage(value),
        finish: text_field(value, "/done_reason").map(|r| normalise_finish(&r)),
        served_model: text_field(value, "/model"),
    })
}

/// One NDJSON line; returns the text it adds.
pub(crate) fn frame(frame: &Frame, state: &mut StreamState) -> Result<Option<String>, FrameError> {
    let value: Value = serde_json::from_str(frame.data.trim())
        .map_err(|e| FrameError::Malformed(format!("a stream line is not JSON ({e})")))?;
    if let Some(message) = error_message(&value) {
        return Err(FrameError::Api(message));
    }
    if value.get("message").is_some_and(Value::is_object) {
        state.recognised = true;
    }
    if state.served_model.is_none() {
        state.served_model = text_field(&value, "/model");
    }
    if value.get("done").and_then(Value::as_bool) == Some(true) {
        state.complete = true;
        state.finish = text_field(&value, "/done_reason").map(|r| normalise_finish(&r));
        if let Some(usage) = usage(&value) {
            state.prompt_tokens = Some(usage.prompt_tokens);
            state.completion_tokens = Some(usage.completion_tokens);
        }
    }
    match value.pointer("/message/content") {
        Some(Value::String(piece)) if !piece.is_empty() => Ok(Some(piece.clone())),
        Some(Value::String(_)) | Some(Value::Null) | None => Ok(None),
        Some(other) => Err(FrameError::Malformed(format!(
            "message.content is not text: {other}"
        ))),
    }
}

/// Complete only after the `done: true` line.
pub(crate) fn stream_complete(state: &StreamState) -> bool {
    state.complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(value: Value) -> Frame {
        Frame {
            event: None,
            data: value.to_string(),
        }
    }

    #[test]
    fn parses_lines_and_final_counts() {
        let mut state = StreamState::default();
        let lines = [
            line(json!({"message": {"role": "assistant", "content": "Blue"}, "done": false})),
            line(json!({"message": {"role": "assistant", "content": " light"}, "done": false})),
        ];
        let pieces: Vec<String> = lines
            .iter()
            .filter_map(|l| frame(l, &mut state).unwrap())
            .collect();
        assert_eq!(pieces, ["Blue", " light"]);
        assert!(!stream_complete(&state));
        let last = line(
            json!({"message": {"role": "assistant", "content": ""}, "done": true,
            "done_reason": "stop", "prompt_eval_count": 26, "eval_count": 12}),
        );
        assert_eq!(frame(&last, &mut state).unwrap(), None);
        assert!(stream_complete(&state) && state.recognised);
        assert_eq!(
            state.usage(),
            Some(Usage {
                prompt_tokens: 26,
                completion_tokens: 12
            })
        );
        assert_eq!(
            frame(&line(json!({"error": "model not found"})), &mut state),
            Err(FrameError::Api("model not found".into()))
        );
    }
}
