//! The user's config: `$XDG_CONFIG_HOME/alc-workbench/config.toml` (fallback
//! `~/.config/alc-workbench/config.toml`). Holds the theme, the default mode, key
//! overrides (`[keys]`) and a `providers` table kept raw for the provider issue. A bad
//! file is an error naming the file and line, never a panic. Reads that one file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::app::keymap::{Keymap, KeymapError};
use crate::app::Mode;

/// The parsed config; every field optional in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub theme: Option<String>,
    pub mode: Mode,
    /// Action name → chords.
    pub keys: BTreeMap<String, Vec<String>>,
    /// Left raw for the providers issue.
    pub providers: toml::Table,
    /// `allow_exec = true`: strategies may run processes (`io.popen`, `os.execute`),
    /// as `--allow-exec` allows.
    pub allow_exec: bool,
    /// The file it came from, for messages.
    pub path: Option<PathBuf>,
}

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Chords {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    theme: Option<String>,
    mode: Option<String>,
    #[serde(default)]
    keys: BTreeMap<String, Chords>,
    #[serde(default)]
    providers: toml::Table,
    allow_exec: Option<bool>,
}

/// `$XDG_CONFIG_HOME/alc-workbench`, else `~/.config/alc-workbench`.
pub fn config_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("alc-workbench"))
}

/// Where user themes live.
pub fn themes_dir() -> Option<PathBuf> {
    config_dir().map(|d| d.join("themes"))
}

impl Config {
    /// Loads `path`, or the default location; a missing file is the default config.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match config_dir() {
                Some(dir) => dir.join("config.toml"),
                None => return Ok(Config::default()),
            },
        };
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => return Err(ConfigError::Read { file, source }),
        };
        let mut config = Config::parse(&text, &file)?;
        config.path = Some(path);
        Ok(config)
    }

    /// Parses config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: file.to_string(),
            message,
        };
        let raw: ConfigFile = toml::from_str(text)
            .map_err(|e| invalid(crate::theme::describe_toml_error(text, &e)))?;
        let mode = match raw.mode.as_deref() {
            None => Mode::default(),
            Some(m) => Mode::parse(m)
                .ok_or_else(|| invalid(format!("mode {m:?} is not manual, auto or review")))?,
        };
        let keys = raw
            .keys
            .into_iter()
            .map(|(k, v)| {
                let chords = match v {
                    Chords::One(c) => vec![c],
                    Chords::Many(cs) => cs,
                };
                (k, chords)
            })
            .collect();
        let config = Config {
            theme: raw.theme,
            mode,
            keys,
            providers: raw.providers,
            allow_exec: raw.allow_exec.unwrap_or(false),
            path: None,
        };
        config.keymap().map_err(|e| invalid(e.to_string()))?;
        Ok(config)
    }

    /// Every provider's `api_key_env` name: `os.getenv` hides these from strategies
    /// (read raw, so a provider table with other mistakes still names its key).
    pub fn secret_env_names(&self) -> Vec<String> {
        self.providers
            .values()
            .filter_map(|p| p.get("api_key_env")?.as_str())
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect()
    }

    /// The keymap with this config's overrides.
    pub fn keymap(&self) -> Result<Keymap, KeymapError> {
        Keymap::with_overrides(&self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Action, KeyChord, KeyContext};

    #[test]
    fn parses_theme_mode_keys_and_keeps_providers_raw() {
        let text = r#"
theme = "light"
mode = "manual"
[keys]
quit = "x"
submit = ["ctrl-d", "alt-enter"]
[providers.local]
kind = "ollama"
"#;
        let c = Config::parse(text, "config.toml").unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.mode, Mode::Manual);
        assert!(c.providers.contains_key("local"));
        let map = c.keymap().unwrap();
        assert_eq!(
            map.resolve(KeyChord::parse("x").unwrap(), &[KeyContext::Global]),
            Some(Action::Quit)
        );
    }

    #[test]
    fn bad_config_names_file_and_line() {
        let e = Config::parse("theme = \"dark\"\nmode = \n", "/home/me/config.toml").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("/home/me/config.toml") && s.contains("line 2"),
            "{s}"
        );
        let e = Config::parse("[keys]\nquit = \"hyper-q\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("hyper-q"), "{e}");
        let e = Config::parse("mode = \"yolo\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("yolo"), "{e}");
        let e = Config::parse("colour = 1\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn allow_exec_and_secret_names() {
        let text = "allow_exec = true\n[providers.a]\nkind = \"openai\"\napi_key_env = \"MY_LLM\"\n[providers.b]\nkind = \"ollama\"\n";
        let c = Config::parse(text, "c.toml").unwrap();
        assert!(c.allow_exec);
        assert_eq!(c.secret_env_names(), vec!["MY_LLM".to_string()]);
        assert!(!Config::parse("", "c.toml").unwrap().allow_exec);
        let e = Config::parse("allow_exec = \"yes\"\n", "c.toml").unwrap_err();
        assert!(
            e.to_string().contains("line 1") && e.to_string().contains("expected a boolean"),
            "{e}"
        );
    }

    #[test]
    fn keymap_collisions_and_unbound_actions_are_config_errors() {
        let e = Config::parse("[keys]\nquit = \"ctrl-s\"\n", "/home/me/config.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/home/me/config.toml: [keys] \"ctrl-s\""),
            "{e}"
        );
        assert!(e.contains("quit") && e.contains("submit"), "{e}");
        let e = Config::parse("[keys]\nquit = \"\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml: [keys] quit is bound to nothing"), "{e}");
    }

    #[test]
    fn missing_file_is_default() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(Some(&dir.path().join("none.toml"))).unwrap();
        assert_eq!(c, Config::default());
    }
}
