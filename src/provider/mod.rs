//! Providers: answer sources that forward a query to a model.
//!
//! A provider is configured as `[providers.NAME]` in `config.toml` ([`config`]) and
//! built with [`build`] (or [`load`], which also returns the parsed settings). The
//! file itself is read by the crate's `config` loader; this room only ever sees the
//! raw `providers` table, so it depends on no other room's settings. Kinds:
//! `openai` (any OpenAI-compatible `/chat/completions` server), `anthropic` (the
//! Messages API), `ollama` (native `/api/chat`) and `command` (the engine's command
//! source under a provider name). Every kind is an [`AnswerSource`]; HTTP kinds
//! override `answer_streaming` and report text as it arrives.
//!
//! What maps onto each API: the query's `system` (plus the [`GROUNDED_INSTRUCTION`] /
//! [`UNDERSPECIFIED_INSTRUCTION`] sentences when those flags are set) becomes the
//! system prompt, `prompt` the one user message, `max_tokens` the API's output limit.
//! Answers carry `source = provider`, the configured `model`, the API's token `usage`
//! and the measured latency.
//!
//! Secrets: keys are read from the environment variable named in config each time a
//! request is built, live only in an [`http::ApiKey`] (whose `Debug` prints nothing),
//! and are scrubbed from every error message.
//!
//! This room does HTTP and spawns commands; it never touches the terminal.

use std::sync::Arc;

use crate::answer::AnswerSource;
use crate::engine::Query;

mod anthropic;
mod command;
pub mod config;
pub mod fallback;
pub mod http;
mod ollama;
mod openai;
mod source;
pub mod stream;

pub use crate::engine::pricing::Prices;
pub use command::CommandProvider;
pub use config::{process_env, EnvLookup, ProviderConfig, ProviderKind};
pub use fallback::FallbackSource;
pub use source::HttpProvider;

/// Added to the system prompt when a query is `grounded`.
pub const GROUNDED_INSTRUCTION: &str =
    "Answer only from facts you are confident are true; say \"I don't know\" rather than guess.";

/// Added to the system prompt when a query is `underspecified`.
pub const UNDERSPECIFIED_INSTRUCTION: &str =
    "The request may be missing details: state the assumptions you make, or ask for what is missing.";

/// Why a provider could not be built. (Request failures are `SourceError`s.)
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("no provider named \"{name}\" in the config (known: {known})")]
    Unknown { name: String, known: String },
    #[error("provider \"{name}\": {message}")]
    Invalid { name: String, message: String },
    #[error("provider \"{name}\": cannot set up HTTP: {message}")]
    Http { name: String, message: String },
}

/// A built provider: its settings (model, prices, limits) and the source to ask.
#[derive(Clone)]
pub struct Provider {
    pub config: ProviderConfig,
    pub source: Arc<dyn AnswerSource>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builds provider `name` from the raw `providers` table of the config. Build it
/// once and share the `Arc`: the `max_concurrency` limit is per built provider.
pub fn build(name: &str, providers: &toml::Table) -> Result<Arc<dyn AnswerSource>, ProviderError> {
    Ok(load(name, providers)?.source)
}

/// Like [`build`], also returning the parsed settings (model, prices, limits).
pub fn load(name: &str, providers: &toml::Table) -> Result<Provider, ProviderError> {
    load_with_env(name, providers, process_env())
}

/// Like [`load`], reading environment variables (defaults and API keys) through
/// `env`; the key is looked up at request time, not here.
pub fn load_with_env(
    name: &str,
    providers: &toml::Table,
    env: EnvLookup,
) -> Result<Provider, ProviderError> {
    let config = ProviderConfig::from_table_with_env(name, providers, &env)?;
    from_config(config, env)
}

/// Builds the source for already-parsed settings.
pub fn from_config(config: ProviderConfig, env: EnvLookup) -> Result<Provider, ProviderError> {
    let source: Arc<dyn AnswerSource> = match config.kind {
        ProviderKind::Command => Arc::new(CommandProvider::new(&config)?),
        ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Ollama => {
            Arc::new(HttpProvider::new(config.clone(), env)?)
        }
    };
    Ok(Provider { config, source })
}

/// Builds provider `name` from the config's raw `providers` table (`run` and the TUI
/// read the file once, for the provider and the sandbox settings), accepting answers
/// of at most `max_answer_bytes` (`--max-answer-mb`). `config_file` names the file in
/// the message when it defines no provider at all.
pub fn from_providers_table(
    providers: &toml::Table,
    config_file: &str,
    name: &str,
    max_answer_bytes: usize,
) -> Result<Provider, ProviderError> {
    if providers.is_empty() {
        return Err(ProviderError::Unknown {
            name: name.to_string(),
            known: format!("none; add [providers.{name}] to {config_file}"),
        });
    }
    let env = process_env();
    let mut settings = ProviderConfig::from_table_with_env(name, providers, &env)?;
    settings.max_answer_bytes = max_answer_bytes;
    from_config(settings, env)
}

/// The system prompt sent for `query`: its own system prompt, then one sentence per
/// flag ([`GROUNDED_INSTRUCTION`], [`UNDERSPECIFIED_INSTRUCTION`]), separated by a
/// blank line. `None` when there is nothing to say.
pub fn system_prompt(query: &Query) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(system) = query.system.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(system);
    }
    if query.grounded {
        parts.push(GROUNDED_INSTRUCTION);
    }
    if query.underspecified {
        parts.push(UNDERSPECIFIED_INSTRUCTION);
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// Merges `extra` into `body`: objects merge key by key (so `extra.options.temperature`
/// keeps Ollama's `options.num_predict`), anything else is replaced by `extra`'s value.
/// `stream` and `stream_options` are never overridden: the reply parser depends on them.
/// The text of an API's `error` object: its `message`, else the object as JSON.
pub(crate) fn api_error_text(error: &serde_json::Value) -> String {
    error
        .get("message")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| error.to_string())
}

/// `Authorization: Bearer KEY` when there is a key (OpenAI-style servers and Ollama
/// behind a proxy both take it).
pub(crate) fn bearer_headers(
    key: Option<&http::ApiKey>,
) -> Result<reqwest::header::HeaderMap, crate::answer::SourceError> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = key {
        headers.insert(reqwest::header::AUTHORIZATION, key.header("Bearer ")?);
    }
    Ok(headers)
}

/// Chat messages for APIs that take the system prompt as the first message.
pub(crate) fn chat_messages(query: &Query) -> Vec<serde_json::Value> {
    let mut messages = Vec::new();
    if let Some(system) = system_prompt(query) {
        messages.push(serde_json::json!({"role": "system", "content": system}));
    }
    messages.push(serde_json::json!({"role": "user", "content": query.prompt}));
    messages
}

pub(crate) fn merge_extra(
    body: &mut serde_json::Value,
    extra: &serde_json::Map<String, serde_json::Value>,
) {
    fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
        match (target, patch) {
            (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
                for (key, value) in patch {
                    match target.get_mut(key) {
                        Some(existing) => merge(existing, value),
                        None => {
                            target.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
            (target, patch) => *target = patch.clone(),
        }
    }
    if let serde_json::Value::Object(body) = body {
        for (key, value) in extra {
            if key == "stream" || key == "stream_options" {
                continue;
            }
            match body.get_mut(key) {
                Some(existing) => merge(existing, value),
                None => {
                    body.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query() -> Query {
        Query {
            max_tokens_capped: None,
            id: "q-1".into(),
            prompt: "p".into(),
            system: Some("Be brief.".into()),
            max_tokens: 10,
            grounded: false,
            underspecified: false,
            site: None,
            batch: None,
            fork: None,
        }
    }

    #[test]
    fn system_prompt_adds_flag_sentences() {
        let mut q = query();
        assert_eq!(system_prompt(&q).as_deref(), Some("Be brief."));
        q.grounded = true;
        q.underspecified = true;
        assert_eq!(
            system_prompt(&q).unwrap(),
            format!("Be brief.\n\n{GROUNDED_INSTRUCTION}\n\n{UNDERSPECIFIED_INSTRUCTION}")
        );
        q.system = None;
        q.underspecified = false;
        assert_eq!(system_prompt(&q).unwrap(), GROUNDED_INSTRUCTION);
        q.grounded = false;
        q.system = Some("  ".into());
        assert_eq!(system_prompt(&q), None);
    }

    #[test]
    fn extra_merges_deeply_but_never_touches_stream() {
        let mut body = json!({"model": "m", "stream": true, "options": {"num_predict": 5}});
        let extra = json!({"temperature": 0.2, "stream": false, "options": {"top_k": 3}});
        merge_extra(&mut body, extra.as_object().unwrap());
        assert_eq!(
            body,
            json!({"model": "m", "stream": true, "temperature": 0.2,
                   "options": {"num_predict": 5, "top_k": 3}})
        );
    }

    #[test]
    fn unknown_provider_lists_known_ones() {
        let providers: toml::Table = toml::from_str(
            "[a]\nkind = \"ollama\"\nmodel = \"m\"\n[b]\nkind = \"command\"\ncommand = \"x\"\n",
        )
        .unwrap();
        let e = build("c", &providers).err().unwrap().to_string();
        assert_eq!(e, "no provider named \"c\" in the config (known: a, b)");
        assert_eq!(build("b", &providers).unwrap().name(), "b");
    }
}
