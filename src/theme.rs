//! Themes: semantic colour slots (what a colour means, not which colour it is) plus
//! the syntect theme used for Lua highlighting. Built-ins are embedded from `themes/`;
//! user themes load from `$XDG_CONFIG_HOME/alc-workbench/themes/NAME.toml`; `NO_COLOR`
//! selects a monochrome theme that uses modifiers only. This is the one place in the
//! TUI that names colours. Reads theme files; touches nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::config::describe_toml_error;

const DARK: &str = include_str!("../themes/dark.toml");
const LIGHT: &str = include_str!("../themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("../themes/high-contrast.toml");

/// Names of the built-in themes.
pub const BUILT_IN: &[&str] = &["dark", "light", "high-contrast"];

macro_rules! slots {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Every semantic slot a theme fills.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct Slots {
            $($(#[$doc])* pub $name: Style,)*
        }

        impl Slots {
            fn set(&mut self, name: &str, style: Style) -> bool {
                match name {
                    $(stringify!($name) => { self.$name = style; true })*
                    _ => false,
                }
            }
        }
    };
}

slots! {
    text, dim, border, border_focused, title, line_number,
    /// The line the strategy is paused at.
    paused_line,
    /// The line the strategy failed at.
    error_line,
    breakpoint, system_prompt, note, selection,
    gauge_calls, gauge_time, gauge_tokens, gauge_progress,
    /// A gauge at its limit (spent) or past it (over budget).
    gauge_over,
    trace_time, trace_query, trace_answer, trace_error, trace_end, trace_other,
    status_bar, status_idle, status_running, status_waiting, status_finished,
    status_failed, status_cancelled, mode, key_hint, overlay_border,
}

/// A loaded theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// A syntect built-in theme name; `None` draws the source without colours.
    pub syntect: Option<String>,
    pub slots: Slots,
}

/// A theme that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("no theme named {0:?} (built-in: dark, light, high-contrast; or a file in {1})")]
    NotFound(String, String),
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    syntect: Option<String>,
    #[serde(default)]
    slots: BTreeMap<String, SlotSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

impl SlotSpec {
    fn style(&self) -> Result<Style, String> {
        let colour = |c: &Option<String>| -> Result<Option<Color>, String> {
            c.as_deref()
                .map(|s| Color::from_str(s).map_err(|_| format!("{s:?} is not a colour")))
                .transpose()
        };
        let mut style = Style::default();
        if let Some(fg) = colour(&self.fg)? {
            style = style.fg(fg);
        }
        if let Some(bg) = colour(&self.bg)? {
            style = style.bg(bg);
        }
        let mods = [
            (self.bold, Modifier::BOLD),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
            (self.dim, Modifier::DIM),
        ];
        for (on, m) in mods {
            if on {
                style = style.add_modifier(m);
            }
        }
        Ok(style)
    }
}

impl Theme {
    /// Parses a theme file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            file: file.to_string(),
            message,
        };
        let parsed: ThemeFile =
            toml::from_str(text).map_err(|e| invalid(describe_toml_error(text, &e)))?;
        let mut slots = Slots::default();
        for (name, spec) in &parsed.slots {
            let style = spec
                .style()
                .map_err(|m| invalid(format!("slot {name}: {m}")))?;
            if !slots.set(name, style) {
                return Err(invalid(format!("unknown slot {name:?}")));
            }
        }
        if let Some(name) = parsed.syntect.as_deref() {
            if !crate::highlight::is_syntect_theme(name) {
                return Err(invalid(format!(
                    "unknown syntect theme {name:?} (known: {})",
                    crate::highlight::syntect_theme_names().join(", ")
                )));
            }
        }
        Ok(Theme {
            name: parsed.name.unwrap_or_else(|| file.to_string()),
            syntect: parsed.syntect,
            slots,
        })
    }

    /// The built-in theme of that name.
    pub fn built_in(name: &str) -> Option<Theme> {
        let text = match name {
            "dark" => DARK,
            "light" => LIGHT,
            "high-contrast" => HIGH_CONTRAST,
            _ => return None,
        };
        Theme::parse(text, name).ok()
    }

    /// No colours at all, for `NO_COLOR`: bold, reverse and underline carry meaning.
    pub fn monochrome() -> Theme {
        let b = Style::default().add_modifier(Modifier::BOLD);
        let r = Style::default().add_modifier(Modifier::REVERSED);
        let slots = Slots {
            dim: Style::default().add_modifier(Modifier::DIM),
            border_focused: b,
            title: b,
            paused_line: r,
            error_line: Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
            breakpoint: b,
            system_prompt: Style::default().add_modifier(Modifier::ITALIC),
            note: b,
            selection: r,
            gauge_over: b,
            trace_error: b,
            status_bar: r,
            status_waiting: b.add_modifier(Modifier::REVERSED),
            status_failed: b,
            mode: b,
            key_hint: b,
            overlay_border: b,
            ..Slots::default()
        };
        Theme {
            name: "monochrome".into(),
            syntect: None,
            slots,
        }
    }

    /// Picks a theme: `NO_COLOR` wins, then a user file, then a built-in.
    pub fn resolve(
        name: &str,
        no_color: bool,
        user_dir: Option<&Path>,
    ) -> Result<Theme, ThemeError> {
        if no_color {
            return Ok(Theme::monochrome());
        }
        if let Some(dir) = user_dir {
            let path: PathBuf = dir.join(format!("{name}.toml"));
            if path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read {
                    file: path.display().to_string(),
                    source,
                })?;
                return Theme::parse(&text, &path.display().to_string());
            }
        }
        Theme::built_in(name).ok_or_else(|| {
            ThemeError::NotFound(
                name.to_string(),
                user_dir.map_or("the config directory".into(), |d| d.display().to_string()),
            )
        })
    }

    /// Border style of a pane.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.slots.border_focused
        } else {
            self.slots.border
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse_and_name_known_syntect_themes() {
        for name in BUILT_IN {
            let theme = Theme::parse(
                match *name {
                    "dark" => DARK,
                    "light" => LIGHT,
                    _ => HIGH_CONTRAST,
                },
                name,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Some(s) = &theme.syntect {
                assert!(crate::highlight::has_theme(s), "{name}: syntect theme {s}");
            }
            assert_ne!(theme.slots.paused_line, Style::default(), "{name}");
        }
    }

    #[test]
    fn light_sets_its_own_background_and_high_contrast_its_syntax_theme() {
        let light = Theme::built_in("light").unwrap();
        // The text slot fills every pane: a light theme on a dark terminal stays light.
        assert_eq!(
            light.slots.text.bg,
            Some(Color::from_str("#ffffff").unwrap())
        );
        let hc = Theme::built_in("high-contrast").unwrap();
        assert_eq!(hc.syntect.as_deref(), Some(crate::highlight::HIGH_CONTRAST));
        assert_eq!(hc.slots.text.bg, Some(Color::Black));
    }

    #[test]
    fn errors_name_file_line_and_slot() {
        let e = Theme::parse("[slots]\ntext = { fg = \"nocolour\" }\n", "t.toml").unwrap_err();
        assert!(
            e.to_string().contains("t.toml") && e.to_string().contains("nocolour"),
            "{e}"
        );
        let e = Theme::parse("[slots]\nwat = {}\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("wat"), "{e}");
        let e = Theme::parse("name = \n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn unknown_syntect_theme_is_an_error_listing_the_known_ones() {
        let e = Theme::parse("syntect = \"base16-oceanic\"\n", "/t/mine.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/t/mine.toml: unknown syntect theme \"base16-oceanic\" (known: "),
            "{e}"
        );
        assert!(e.contains("base16-ocean.dark"), "{e}");
        let ok = Theme::parse("syntect = \"base16-ocean.dark\"\n", "t.toml").unwrap();
        assert_eq!(ok.syntect.as_deref(), Some("base16-ocean.dark"));
    }

    #[test]
    fn no_color_is_monochrome_and_unknown_is_an_error() {
        let t = Theme::resolve("dark", true, None).unwrap();
        assert_eq!(t.name, "monochrome");
        assert!(t.syntect.is_none());
        assert!(Theme::resolve("nope", false, None).is_err());
    }
}
