//! `[providers.NAME]` tables of `config.toml`, parsed into [`ProviderConfig`].
//!
//! The config file loader (`crate::config`) keeps the `providers` table raw; this
//! module gives it meaning. Defaults that come from the environment (`OPENAI_BASE_URL`, `OLLAMA_HOST`)
//! are resolved here, at parse time, through an [`EnvLookup`] so tests never have to
//! change the process environment. API keys are **not** read here: only the name of
//! the variable is kept, and the key is read when a request is made.
//!
//! Pure parsing: touches no files, no network and no terminal.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::ProviderError;
use crate::engine::pricing::Prices;

/// Reads an environment variable; the process environment in production, a map in tests.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment as an [`EnvLookup`]; empty values count as unset.
pub fn process_env() -> EnvLookup {
    Arc::new(|name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// Default OpenAI-compatible endpoint when neither `base_url` nor `OPENAI_BASE_URL` is set.
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Default Anthropic endpoint.
pub const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header sent unless `anthropic_version` says otherwise.
pub const ANTHROPIC_DEFAULT_VERSION: &str = "2023-06-01";
/// The body field of an `openai` provider's output limit unless `max_tokens_field`
/// says otherwise.
pub const DEFAULT_MAX_TOKENS_FIELD: &str = "max_tokens";
/// Default Ollama address when neither `base_url` nor `OLLAMA_HOST` is set.
pub const OLLAMA_DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434";
const OLLAMA_DEFAULT_PORT: u16 = 11434;

/// Requests one provider runs at once (a batch of 10 runs at most this many together).
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Overall deadline of one request, retries and the whole body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// First backoff step; doubled on each retry (tests set `retry_base_ms` small).
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(500);
/// Per-query limit of a `kind = "command"` provider.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenAI-compatible `/chat/completions` server.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Ollama's native `/api/chat`.
    Ollama,
    /// A shell command per query (the engine's command source).
    Command,
}

impl ProviderKind {
    pub fn parse(text: &str) -> Option<ProviderKind> {
        match text {
            "openai" => Some(ProviderKind::OpenAi),
            "anthropic" => Some(ProviderKind::Anthropic),
            "ollama" => Some(ProviderKind::Ollama),
            "command" => Some(ProviderKind::Command),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Command => "command",
        }
    }
}

/// One provider's settings. Holds no secret: `api_key_env` is a variable *name*.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// The table's name (`local` in `[providers.local]`).
    pub name: String,
    pub kind: ProviderKind,
    /// Endpoint root, without a trailing slash (empty for `command`).
    pub base_url: String,
    /// Required for HTTP kinds; optional for `command` (then recorded if given).
    pub model: Option<String>,
    /// The variable holding the API key; `None` sends no key.
    pub api_key_env: Option<String>,
    pub anthropic_version: String,
    /// `kind = "openai"`: the body field carrying the output limit, `max_tokens`
    /// (default) or `max_completion_tokens` (OpenAI's reasoning models refuse the
    /// other with an HTTP 400).
    pub max_tokens_field: String,
    pub max_concurrency: usize,
    /// Extra request-body fields, merged (deeply) over the built body.
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub connect_timeout: Duration,
    /// Longest wait for the response to start, and between two pieces of a body.
    pub read_timeout: Duration,
    /// Longest a whole request may take, from the first attempt to the last byte:
    /// a body that trickles or never ends fails here.
    pub request_timeout: Duration,
    /// Largest answer text accepted (not a config key: `--max-answer-mb`).
    pub max_answer_bytes: usize,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub stream: bool,
    /// `kind = "command"`: the command line and its per-query timeout.
    pub command: Option<String>,
    pub command_timeout: Duration,
    pub prices: Option<Prices>,
}

/// The table as written; every key optional so missing ones get clear messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: Option<String>,
    base_url: Option<String>,
    model: Option<String>,
    api_key_env: Option<String>,
    anthropic_version: Option<String>,
    max_tokens_field: Option<String>,
    max_concurrency: Option<i64>,
    extra: Option<toml::Table>,
    connect_timeout_secs: Option<f64>,
    read_timeout_secs: Option<f64>,
    request_timeout_secs: Option<f64>,
    max_retries: Option<i64>,
    retry_base_ms: Option<i64>,
    stream: Option<bool>,
    command: Option<String>,
    timeout_secs: Option<f64>,
    prices: Option<Prices>,
}

impl ProviderConfig {
    /// Parses `[providers.NAME]` from the raw `providers` table, with the process env.
    pub fn from_table(name: &str, providers: &toml::Table) -> Result<Self, ProviderError> {
        Self::from_table_with_env(name, providers, &process_env())
    }

    /// Like [`ProviderConfig::from_table`], reading defaults through `env`.
    pub fn from_table_with_env(
        name: &str,
        providers: &toml::Table,
        env: &EnvLookup,
    ) -> Result<Self, ProviderError> {
        let Some(value) = providers.get(name) else {
            return Err(ProviderError::Unknown {
                name: name.to_string(),
                known: provider_names(providers).join(", "),
            });
        };
        let invalid = |message: String| ProviderError::Invalid {
            name: name.to_string(),
            message,
        };
        let table = value
            .as_table()
            .ok_or_else(|| invalid("must be a table ([providers.NAME])".into()))?;
        let raw: RawProvider = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.message().trim().to_string()))?;

        let kind_text = raw.kind.as_deref().ok_or_else(|| {
            invalid("missing `kind` (openai, anthropic, ollama or command)".into())
        })?;
        let kind = ProviderKind::parse(kind_text).ok_or_else(|| {
            invalid(format!(
                "unknown kind {kind_text:?}: expected openai, anthropic, ollama or command"
            ))
        })?;
        let model = raw.model.filter(|m| !m.trim().is_empty());
        if kind != ProviderKind::Command && model.is_none() {
            return Err(invalid(format!(
                "missing `model` (the {} model to ask)",
                kind.label()
            )));
        }
        let command = raw.command.filter(|c| !c.trim().is_empty());
        if kind == ProviderKind::Command && command.is_none() {
            return Err(invalid("kind = \"command\" needs `command`".into()));
        }
        if kind != ProviderKind::Command && command.is_some() {
            return Err(invalid(format!(
                "`command` only applies to kind = \"command\", not {}",
                kind.label()
            )));
        }

        let base_url = match kind {
            ProviderKind::OpenAi => raw
                .base_url
                .or_else(|| env("OPENAI_BASE_URL"))
                .unwrap_or_else(|| OPENAI_DEFAULT_BASE_URL.into()),
            ProviderKind::Anthropic => raw
                .base_url
                .unwrap_or_else(|| ANTHROPIC_DEFAULT_BASE_URL.into()),
            ProviderKind::Ollama => raw
                .base_url
                .or_else(|| env("OLLAMA_HOST").map(|host| ollama_host_url(&host)))
                .unwrap_or_else(|| OLLAMA_DEFAULT_BASE_URL.into()),
            ProviderKind::Command => String::new(),
        };
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if kind != ProviderKind::Command
            && !(base_url.starts_with("http://") || base_url.starts_with("https://"))
        {
            return Err(invalid(format!(
                "base_url {base_url:?} must start with http:// or https://"
            )));
        }

        // An explicitly empty `api_key_env` means "send no key" (local servers).
        let api_key_env = match (raw.api_key_env, kind) {
            (Some(var), _) if var.trim().is_empty() => None,
            (Some(var), _) => Some(var.trim().to_string()),
            (None, ProviderKind::OpenAi) => Some("OPENAI_API_KEY".into()),
            (None, ProviderKind::Anthropic) => Some("ANTHROPIC_API_KEY".into()),
            (None, ProviderKind::Ollama | ProviderKind::Command) => None,
        };

        let max_tokens_field = match (raw.max_tokens_field.as_deref().map(str::trim), kind) {
            (None, _) => DEFAULT_MAX_TOKENS_FIELD.to_string(),
            (Some(field @ ("max_tokens" | "max_completion_tokens")), ProviderKind::OpenAi) => {
                field.to_string()
            }
            (Some(field), ProviderKind::OpenAi) => {
                return Err(invalid(format!(
                    "max_tokens_field must be \"max_tokens\" or \"max_completion_tokens\", \
                     not {field:?}"
                )))
            }
            (Some(_), other) => {
                return Err(invalid(format!(
                    "`max_tokens_field` only applies to kind = \"openai\", not {}",
                    other.label()
                )))
            }
        };
        let max_concurrency = match raw.max_concurrency {
            None => DEFAULT_MAX_CONCURRENCY,
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => {
                return Err(invalid(format!(
                    "max_concurrency must be 1 or more, not {n}"
                )))
            }
        };
        let max_retries = match raw.max_retries {
            None => DEFAULT_MAX_RETRIES,
            Some(n) if n >= 0 => u32::try_from(n).unwrap_or(u32::MAX),
            Some(n) => return Err(invalid(format!("max_retries must be 0 or more, not {n}"))),
        };
        let retry_base = match raw.retry_base_ms {
            None => DEFAULT_RETRY_BASE,
            Some(n) if n >= 0 => Duration::from_millis(n.unsigned_abs()),
            Some(n) => return Err(invalid(format!("retry_base_ms must be 0 or more, not {n}"))),
        };
        let seconds = |key: &str, value: Option<f64>, default: Duration| match value {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(invalid(format!(
                "{key} must be a number of seconds above 0, not {s}"
            ))),
        };
        let connect_timeout = seconds(
            "connect_timeout_secs",
            raw.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT,
        )?;
        let read_timeout = seconds(
            "read_timeout_secs",
            raw.read_timeout_secs,
            DEFAULT_READ_TIMEOUT,
        )?;
        let request_timeout = seconds(
            "request_timeout_secs",
            raw.request_timeout_secs,
            DEFAULT_REQUEST_TIMEOUT,
        )?;
        let command_timeout = seconds("timeout_secs", raw.timeout_secs, DEFAULT_COMMAND_TIMEOUT)?;

        let extra = match raw.extra {
            None => serde_json::Map::new(),
            Some(table) => match serde_json::to_value(table) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) | Err(_) => {
                    return Err(invalid(
                        "`extra` must be a table of JSON-like values".into(),
                    ))
                }
            },
        };
        if let Some(prices) = &raw.prices {
            let ok = |p: f64| p.is_finite() && p >= 0.0;
            if !ok(prices.prompt_per_mtok) || !ok(prices.completion_per_mtok) {
                return Err(invalid("prices must be numbers of 0 or more".into()));
            }
        }

        Ok(ProviderConfig {
            name: name.to_string(),
            kind,
            base_url,
            model,
            api_key_env,
            anthropic_version: raw
                .anthropic_version
                .unwrap_or_else(|| ANTHROPIC_DEFAULT_VERSION.into()),
            max_tokens_field,
            max_concurrency,
            extra,
            connect_timeout,
            read_timeout,
            request_timeout,
            max_answer_bytes: crate::limits::DEFAULT_MAX_ANSWER_BYTES,
            max_retries,
            retry_base,
            stream: raw.stream.unwrap_or(true),
            command,
            command_timeout,
            prices: raw.prices,
        })
    }

    /// The configured model, or `""` for a command provider without one.
    pub fn model_name(&self) -> &str {
        self.model.as_deref().unwrap_or("")
    }
}

/// The provider names of a raw `providers` table, sorted.
pub fn provider_names(providers: &toml::Table) -> Vec<String> {
    let mut names: Vec<String> = providers.keys().cloned().collect();
    names.sort();
    names
}

/// `OLLAMA_HOST` as Ollama's own client reads it: a scheme is optional (`http` then)
/// and so is the port (11434 then). `0.0.0.0`, a listening address, means this host.
fn ollama_host_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    let (scheme, rest) = match host.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => ("http", host),
    };
    let rest = rest.replacen("0.0.0.0", "127.0.0.1", 1);
    let has_port = match rest.rsplit_once(':') {
        // `[::1]` alone has colons but no port; a port follows the closing bracket.
        Some((head, port)) => {
            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !head.ends_with('[')
        }
        None => false,
    };
    if has_port || rest.contains('/') {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{rest}:{OLLAMA_DEFAULT_PORT}")
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
