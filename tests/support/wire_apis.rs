//! How each provider API looks on the wire, for the shared scenarios of
//! `tests/providers.rs`: how to build a whole reply and a streamed one (start, one
//! text piece, end), and where a request carries its system prompt, max_tokens,
//! prompt and key. Test data only; touches nothing.
#![allow(dead_code)]

use serde_json::{json, Value};

use super::mock_http::Recorded;

pub const MODEL: &str = "test-model";

/// How one API looks on the wire, for the shared scenarios.
pub struct Api {
    pub kind: &'static str,
    pub path: &'static str,
    /// The config's base_url for a server at `url`.
    pub base: fn(&str) -> String,
    pub whole: fn(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Value,
    pub stream_type: &'static str,
    pub stream_start: fn(prompt_tokens: u64) -> Vec<Vec<u8>>,
    pub stream_delta: fn(piece: &str) -> Vec<u8>,
    pub stream_end: fn(completion_tokens: u64) -> Vec<Vec<u8>>,
    /// A streamed event that is not JSON.
    pub garbage: &'static [u8],
    /// The system prompt and max_tokens as the request carries them.
    pub system_of: fn(&Value) -> Option<String>,
    pub max_tokens_of: fn(&Value) -> Option<u64>,
    pub user_of: fn(&Value) -> Option<String>,
    pub key_of: fn(&Recorded) -> Option<String>,
}

fn sse(data: Value) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

fn sse_event(name: &str, data: Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

fn line(data: Value) -> Vec<u8> {
    format!("{data}\n").into_bytes()
}

fn chat_system(body: &Value) -> Option<String> {
    let first = &body["messages"][0];
    (first["role"] == "system").then(|| first["content"].as_str().unwrap_or("").to_string())
}

fn chat_user(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    let last = messages.last()?;
    (last["role"] == "user").then(|| last["content"].as_str().unwrap_or("").to_string())
}

fn bearer(request: &Recorded) -> Option<String> {
    request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

pub static OPENAI: Api = Api {
    kind: "openai",
    path: "/v1/chat/completions",
    base: |url| format!("{url}/v1"),
    whole: |text, p, c| {
        json!({"id": "x", "object": "chat.completion", "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}})
    },
    stream_type: "text/event-stream",
    stream_start: |_| {
        vec![sse(
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        )]
    },
    stream_delta: |piece| sse(json!({"choices": [{"index": 0, "delta": {"content": piece}}]})),
    stream_end: |c| {
        vec![
            sse(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})),
            sse(json!({"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": c}})),
            b"data: [DONE]\n\n".to_vec(),
        ]
    },
    garbage: b"data: {\"choices\": [oops\n\n",
    system_of: chat_system,
    max_tokens_of: |body| body["max_tokens"].as_u64(),
    user_of: chat_user,
    key_of: bearer,
};

pub static ANTHROPIC: Api = Api {
    kind: "anthropic",
    path: "/v1/messages",
    base: |url| url.to_string(),
    whole: |text, p, c| {
        json!({"id": "msg", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": p, "output_tokens": c}})
    },
    stream_type: "text/event-stream",
    stream_start: |p| {
        vec![
            sse_event(
                "message_start",
                json!({"type": "message_start", "message": {
                "id": "msg", "type": "message", "role": "assistant", "content": [],
                "usage": {"input_tokens": p, "output_tokens": 1}}}),
            ),
            sse_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ),
            b"event: ping\ndata: {\"type\": \"ping\"}\n\n".to_vec(),
        ]
    },
    stream_delta: |piece| {
        sse_event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": piece}}),
        )
    },
    stream_end: |c| {
        vec![
            sse_event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            sse_event(
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": c}}),
            ),
            sse_event("message_stop", json!({"type": "message_stop"})),
        ]
    },
    garbage: b"event: content_block_delta\ndata: {oops\n\n",
    system_of: |body| body["system"].as_str().map(str::to_string),
    max_tokens_of: |body| body["max_tokens"].as_u64(),
    user_of: chat_user,
    key_of: |request| request.header("x-api-key").map(str::to_string),
};

pub static OLLAMA: Api = Api {
    kind: "ollama",
    path: "/api/chat",
    base: |url| url.to_string(),
    whole: |text, p, c| {
        json!({"model": MODEL, "message": {"role": "assistant", "content": text},
            "done": true, "done_reason": "stop", "prompt_eval_count": p, "eval_count": c})
    },
    stream_type: "application/x-ndjson",
    stream_start: |_| vec![],
    stream_delta: |piece| {
        line(
            json!({"model": MODEL, "message": {"role": "assistant", "content": piece}, "done": false}),
        )
    },
    stream_end: |c| {
        vec![line(
            json!({"model": MODEL, "message": {"role": "assistant", "content": ""},
            "done": true, "done_reason": "stop", "prompt_eval_count": 21, "eval_count": c}),
        )]
    },
    garbage: b"{\"message\": {oops\n",
    system_of: chat_system,
    max_tokens_of: |body| body["options"]["num_predict"].as_u64(),
    user_of: chat_user,
    key_of: bearer,
};
