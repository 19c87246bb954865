//! The user's config file: `$XDG_CONFIG_HOME/alc-workbench/config.toml` (fallback
//! `~/.config/alc-workbench/config.toml`). Reads that one file and splits it into
//! independent sections, each read by the room it belongs to:
//!
//! - `[providers.NAME]` tables, kept raw here: `provider::ProviderConfig` parses them;
//! - the sandbox's `allow_exec`;
//! - the screen's `theme`, `mode` and `[keys]` ([`ScreenSection`]): only the TUI reads
//!   and checks them (`runtime::settings`), so `run` never parses the keymap and a
//!   broken `[keys]` table never stops a headless run.
//!
//! What the file as a whole must be is checked here: valid TOML and no unknown
//! top-level keys. A bad file is an error naming the file and line, never a panic.
//! Depends on no other room.

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;

/// The parsed file; every section optional in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `[providers.NAME]` tables as written, for the provider room to parse.
    pub providers: toml::Table,
    /// `allow_exec = true`: strategies may run processes (`io.popen`, `os.execute`),
    /// as `--allow-exec` allows.
    pub allow_exec: bool,
    /// The TUI's settings, not yet read.
    pub screen: ScreenSection,
    /// The file it came from, for messages.
    pub path: Option<PathBuf>,
}

/// The screen's part of the config (`theme`, `mode`, `[keys]`), left unread by the
/// loader: the TUI parses it from the file's text, so its messages still name lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScreenSection {
    text: String,
}

impl ScreenSection {
    /// The config file's text, from which the TUI reads its keys.
    pub fn text(&self) -> &str {
        &self.text
    }
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

/// The top level of the file: which keys may be there, and the sections the loader
/// itself reads. The screen's keys are only allowed here, not read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSections {
    #[serde(default)]
    providers: toml::Table,
    allow_exec: Option<bool>,
    #[allow(dead_code)]
    theme: Option<IgnoredAny>,
    #[allow(dead_code)]
    mode: Option<IgnoredAny>,
    #[allow(dead_code)]
    keys: Option<IgnoredAny>,
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

/// A TOML error as `line N: message` (the line of the error's span), for messages
/// that name the file too.
pub fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", err.message())
        }
        None => err.message().to_string(),
    }
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

    /// Parses config text into its sections; `file` names it in errors. The screen's
    /// section is kept for the TUI, unchecked.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let sections: FileSections = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            file: file.to_string(),
            message: describe_toml_error(text, &e),
        })?;
        Ok(Config {
            providers: sections.providers,
            allow_exec: sections.allow_exec.unwrap_or(false),
            screen: ScreenSection {
                text: text.to_string(),
            },
            path: None,
        })
    }

    /// The file named in messages: the one loaded, else the default location.
    pub fn file_label(&self) -> String {
        self.path
            .clone()
            .or_else(|| config_dir().map(|d| d.join("config.toml")))
            .map_or_else(|| "config.toml".into(), |p| p.display().to_string())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_file_and_keeps_providers_raw() {
        let text = r#"
theme = "light"
mode = "manual"
[keys]
quit = "x"
[providers.local]
kind = "ollama"
"#;
        let c = Config::parse(text, "config.toml").unwrap();
        assert!(c.providers.contains_key("local"));
        assert_eq!(
            c.screen.text(),
            text,
            "the screen's section is left to the TUI"
        );
    }

    #[test]
    fn bad_file_names_file_and_line() {
        let e = Config::parse("theme = \"dark\"\nmode = \n", "/home/me/config.toml").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("/home/me/config.toml") && s.contains("line 2"),
            "{s}"
        );
        let e = Config::parse("colour = 1\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn the_screen_section_is_not_checked_by_the_loader() {
        // What only the TUI reads cannot stop a headless run: the TUI reports it.
        for text in [
            "[keys]\nquit = \"hyper-q\"\n",
            "[keys]\nquit = \"ctrl-s\"\n",
            "[keys]\nquit = 5\n",
            "mode = \"yolo\"\n",
            "theme = 3\n",
            "keys = \"none\"\n",
        ] {
            let c = Config::parse(text, "c.toml").unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.screen.text(), text);
        }
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
    fn missing_file_is_default() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(Some(&dir.path().join("none.toml"))).unwrap();
        assert_eq!(c, Config::default());
        assert!(c.file_label().ends_with("config.toml"));
    }
}
