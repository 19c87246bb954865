//! Tests of `[providers.NAME]` parsing: defaults, every key, and error messages.

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> EnvLookup {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name: &str| map.get(name).cloned())
}

fn parse(text: &str, name: &str, env: &[(&str, &str)]) -> Result<ProviderConfig, ProviderError> {
    let table: toml::Table = toml::from_str(text).expect("test TOML");
    let providers = table
        .get("providers")
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    ProviderConfig::from_table_with_env(name, &providers, &env_of(env))
}

#[test]
fn openai_defaults() {
    let c = parse(
        "[providers.o]\nkind = \"openai\"\nmodel = \"gpt-4o-mini\"\n",
        "o",
        &[],
    )
    .unwrap();
    assert_eq!(c.kind, ProviderKind::OpenAi);
    assert_eq!(c.base_url, OPENAI_DEFAULT_BASE_URL);
    assert_eq!(c.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
    assert_eq!(c.max_concurrency, 4);
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.read_timeout, Duration::from_secs(120));
    assert_eq!(c.request_timeout, Duration::from_secs(600));
    assert_eq!(c.max_answer_bytes, 16 * 1024 * 1024);
    assert_eq!(c.max_retries, 4);
    assert!(c.stream);
    assert_eq!(c.prices, None);
    let c = parse(
        "[providers.o]\nkind = \"openai\"\nmodel = \"m\"\n",
        "o",
        &[("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/")],
    )
    .unwrap();
    assert_eq!(c.base_url, "http://127.0.0.1:8080/v1");
}

#[test]
fn anthropic_and_ollama_defaults() {
    let c = parse(
        "[providers.a]\nkind = \"anthropic\"\nmodel = \"claude\"\n",
        "a",
        &[],
    )
    .unwrap();
    assert_eq!(c.base_url, ANTHROPIC_DEFAULT_BASE_URL);
    assert_eq!(c.api_key_env.as_deref(), Some("ANTHROPIC_API_KEY"));
    assert_eq!(c.anthropic_version, "2023-06-01");
    let c = parse(
        "[providers.l]\nkind = \"ollama\"\nmodel = \"qwen\"\n",
        "l",
        &[],
    )
    .unwrap();
    assert_eq!(c.base_url, "http://127.0.0.1:11434");
    assert_eq!(c.api_key_env, None);
    let c = parse(
        "[providers.l]\nkind = \"ollama\"\nmodel = \"qwen\"\n",
        "l",
        &[("OLLAMA_HOST", "0.0.0.0")],
    )
    .unwrap();
    assert_eq!(c.base_url, "http://127.0.0.1:11434");
}

#[test]
fn ollama_host_forms() {
    assert_eq!(ollama_host_url("gpu-box:9000"), "http://gpu-box:9000");
    assert_eq!(ollama_host_url("https://gpu-box"), "https://gpu-box:11434");
    assert_eq!(ollama_host_url("http://[::1]"), "http://[::1]:11434");
    assert_eq!(ollama_host_url("[::1]:8000"), "http://[::1]:8000");
}

#[test]
fn every_key_is_read() {
    let text = r#"
[providers.full]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
api_key_env = ""
max_concurrency = 2
connect_timeout_secs = 1.5
read_timeout_secs = 3
request_timeout_secs = 30
max_retries = 0
retry_base_ms = 1
stream = false
extra = { temperature = 0.2, stop = ["\n\n"] }
[providers.full.prices]
prompt_per_mtok = 0.15
completion_per_mtok = 0.6
"#;
    let c = parse(text, "full", &[]).unwrap();
    assert_eq!(c.api_key_env, None, "empty api_key_env sends no key");
    assert_eq!(c.max_concurrency, 2);
    assert_eq!(c.connect_timeout, Duration::from_millis(1500));
    assert_eq!(c.read_timeout, Duration::from_secs(3));
    assert_eq!(c.request_timeout, Duration::from_secs(30));
    assert_eq!(c.max_retries, 0);
    assert_eq!(c.retry_base, Duration::from_millis(1));
    assert!(!c.stream);
    assert_eq!(c.extra["temperature"], serde_json::json!(0.2));
    assert_eq!(c.extra["stop"], serde_json::json!(["\n\n"]));
    assert_eq!(
        c.prices,
        Some(Prices {
            prompt_per_mtok: 0.15,
            completion_per_mtok: 0.6
        })
    );
}

#[test]
fn command_kind() {
    let c = parse(
        "[providers.c]\nkind = \"command\"\ncommand = \"my-llm\"\ntimeout_secs = 5\n",
        "c",
        &[],
    )
    .unwrap();
    assert_eq!(c.command.as_deref(), Some("my-llm"));
    assert_eq!(c.command_timeout, Duration::from_secs(5));
    assert_eq!(c.model, None);
    let e = parse("[providers.c]\nkind = \"command\"\n", "c", &[]).unwrap_err();
    assert!(e.to_string().contains("needs `command`"), "{e}");
}

#[test]
fn errors_name_the_provider() {
    let cases = [
        (
            "[providers.x]\nkind = \"gemini\"\nmodel = \"m\"\n",
            "unknown kind \"gemini\"",
        ),
        ("[providers.x]\nkind = \"openai\"\n", "missing `model`"),
        ("[providers.x]\nmodel = \"m\"\n", "missing `kind`"),
        (
            "[providers.x]\nkind = \"openai\"\nmodel = \"m\"\nmodle = 1\n",
            "modle",
        ),
        (
            "[providers.x]\nkind = \"openai\"\nmodel = \"m\"\nmax_concurrency = 0\n",
            "max_concurrency",
        ),
        (
            "[providers.x]\nkind = \"openai\"\nmodel = \"m\"\nread_timeout_secs = -1\n",
            "read_timeout_secs",
        ),
        (
            "[providers.x]\nkind = \"openai\"\nmodel = \"m\"\nrequest_timeout_secs = 0\n",
            "request_timeout_secs",
        ),
        (
            "[providers.x]\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"localhost:1\"\n",
            "http://",
        ),
        ("[providers]\nx = 3\n", "must be a table"),
    ];
    for (text, needle) in cases {
        let e = parse(text, "x", &[]).unwrap_err().to_string();
        assert!(e.contains("provider \"x\""), "{e}");
        assert!(e.contains(needle), "{needle} not in {e}");
    }
    let e = parse(
        "[providers.a]\nkind = \"openai\"\nmodel = \"m\"\n",
        "b",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("\"b\"") && e.contains("a"), "{e}");
}
