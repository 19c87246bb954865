//! The screen's settings from the config file: `theme`, `mode` and `[keys]`. The file
//! loader (`config`) leaves this section unread so that `run` never depends on it; the
//! TUI parses and checks it here, when it starts, and refuses a broken one with the
//! file and line (or the `[keys]` entry) named. Pure parsing of text already read.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::app::keymap::Keymap;
use crate::app::Mode;
use crate::config::{describe_toml_error, Config, ConfigError};

/// What the config says about the screen.
#[derive(Debug, Clone)]
pub struct ScreenSettings {
    /// `theme = NAME` (`--theme` overrides it).
    pub theme: Option<String>,
    /// `mode = manual|auto|review`: the starting mode unless a flag says otherwise.
    pub mode: Mode,
    /// The default keys with `[keys]` overrides applied.
    pub keymap: Keymap,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Chords {
    One(String),
    Many(Vec<String>),
}

/// The screen's keys of the file; the rest of the file is the loader's.
#[derive(Deserialize)]
struct ScreenFile {
    theme: Option<String>,
    mode: Option<String>,
    #[serde(default)]
    keys: BTreeMap<String, Chords>,
}

impl ScreenSettings {
    /// The screen's settings of a loaded config.
    pub fn from_config(config: &Config) -> Result<ScreenSettings, ConfigError> {
        ScreenSettings::parse(config.screen.text(), &config.file_label())
    }

    /// Parses the screen's keys from config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<ScreenSettings, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            file: file.to_string(),
            message,
        };
        let raw: ScreenFile =
            toml::from_str(text).map_err(|e| invalid(describe_toml_error(text, &e)))?;
        let mode = match raw.mode.as_deref() {
            None => Mode::default(),
            Some(m) => Mode::parse(m)
                .ok_or_else(|| invalid(format!("mode {m:?} is not manual, auto or review")))?,
        };
        let keys: BTreeMap<String, Vec<String>> = raw
            .keys
            .into_iter()
            .map(|(action, chords)| match chords {
                Chords::One(c) => (action, vec![c]),
                Chords::Many(cs) => (action, cs),
            })
            .collect();
        let keymap = Keymap::with_overrides(&keys).map_err(|e| invalid(e.to_string()))?;
        Ok(ScreenSettings {
            theme: raw.theme,
            mode,
            keymap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Action, KeyChord, KeyContext};

    #[test]
    fn parses_theme_mode_and_keys() {
        let text = r#"
theme = "light"
mode = "manual"
allow_exec = true
[keys]
quit = "x"
submit = ["ctrl-d", "alt-enter"]
[providers.local]
kind = "ollama"
"#;
        let s = ScreenSettings::parse(text, "config.toml").unwrap();
        assert_eq!(s.theme.as_deref(), Some("light"));
        assert_eq!(s.mode, Mode::Manual);
        assert_eq!(
            s.keymap
                .resolve(KeyChord::parse("x").unwrap(), &[KeyContext::Global]),
            Some(Action::Quit)
        );
        let empty = ScreenSettings::parse("", "c.toml").unwrap();
        assert_eq!((empty.theme, empty.mode), (None, Mode::default()));
    }

    #[test]
    fn bad_screen_settings_name_file_and_what() {
        let e = ScreenSettings::parse("[keys]\nquit = \"hyper-q\"\n", "c.toml").unwrap_err();
        assert!(
            e.to_string().starts_with("c.toml: ") && e.to_string().contains("hyper-q"),
            "{e}"
        );
        let e = ScreenSettings::parse("mode = \"yolo\"\n", "c.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml: mode \"yolo\" is not manual, auto or review"
        );
        let e = ScreenSettings::parse("theme = \"dark\"\n[keys]\nquit = 5\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml: line 3"), "{e}");
    }

    #[test]
    fn keymap_collisions_and_unbound_actions_are_config_errors() {
        let e = ScreenSettings::parse("[keys]\nquit = \"ctrl-s\"\n", "/home/me/config.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/home/me/config.toml: [keys] \"ctrl-s\""),
            "{e}"
        );
        assert!(e.contains("quit") && e.contains("submit"), "{e}");
        let e = ScreenSettings::parse("[keys]\nquit = \"\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml: [keys] quit is bound to nothing"), "{e}");
    }

    #[test]
    fn from_config_names_the_loaded_file() {
        let mut config = Config::parse("mode = \"yolo\"\n", "ignored").unwrap();
        config.path = Some("/etc/alc/config.toml".into());
        let e = ScreenSettings::from_config(&config)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/alc/config.toml: mode"), "{e}");
    }
}
