//! Lua syntax highlighting with syntect (pure-Rust regex engine, no C build), computed
//! once per file load and kept per line as styled spans, so drawing never highlights.
//! Pure computation; the runtime calls it off the loop task.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, ThemeSet};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// The built-in high-contrast syntax theme (syntect's own have none).
pub const HIGH_CONTRAST: &str = "alc-high-contrast";
const HIGH_CONTRAST_TM: &str = include_str!("../themes/high-contrast.tmTheme");

/// syntect's default themes plus [`HIGH_CONTRAST`].
fn themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = ThemeSet::load_defaults();
        let mut reader = std::io::Cursor::new(HIGH_CONTRAST_TM);
        if let Ok(theme) = ThemeSet::load_from_reader(&mut reader) {
            set.themes.insert(HIGH_CONTRAST.to_string(), theme);
        }
        set
    })
}

/// Is `name` a syntax theme highlighting knows?
pub fn has_theme(name: &str) -> bool {
    themes().themes.contains_key(name)
}

/// The names of the syntect themes highlighting can use, sorted.
pub fn syntect_theme_names() -> Vec<&'static str> {
    themes().themes.keys().map(String::as_str).collect()
}

/// Whether `name` is a syntect theme highlighting can use.
pub fn is_syntect_theme(name: &str) -> bool {
    themes().themes.contains_key(name)
}

/// Tabs have no width in a terminal cell grid; expand them so columns line up.
fn detab(s: &str) -> String {
    s.trim_end_matches(['\n', '\r']).replace('\t', "    ")
}

/// Lines without colours (no theme, or `NO_COLOR`).
pub fn plain(text: &str) -> Vec<Line<'static>> {
    text.lines().map(|l| Line::raw(detab(l))).collect()
}

/// Highlights Lua source with the named syntect theme. Theme files are checked when
/// loaded (see `theme.rs`); a name unknown here anyway draws plain lines.
pub fn highlight_lua(text: &str, theme: Option<&str>) -> Vec<Line<'static>> {
    let (Some(theme), Some(syntax)) = (
        theme.and_then(|t| themes().themes.get(t)),
        syntaxes().find_syntax_by_extension("lua"),
    ) else {
        return plain(text);
    };
    let mut h = HighlightLines::new(syntax, theme);
    let mut out = Vec::new();
    for line in LinesWithEndings::from(text) {
        let spans = match h.highlight_line(line, syntaxes()) {
            Ok(regions) => regions
                .into_iter()
                .map(|(style, piece)| Span::styled(detab(piece), convert(style)))
                .filter(|s| !s.content.is_empty())
                .collect(),
            Err(_) => vec![Span::raw(detab(line))],
        };
        out.push(Line::from(spans));
    }
    out
}

fn convert(s: syntect::highlighting::Style) -> Style {
    let mut style = Style::default().fg(Color::Rgb(s.foreground.r, s.foreground.g, s.foreground.b));
    if s.font_style.contains(FontStyle::BOLD) {
        style = style.add_modifier(Modifier::BOLD);
    }
    if s.font_style.contains(FontStyle::ITALIC) {
        style = style.add_modifier(Modifier::ITALIC);
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG relative luminance of an sRGB colour.
    fn luminance(r: u8, g: u8, b: u8) -> f64 {
        let channel = |c: u8| {
            let c = c as f64 / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    #[test]
    fn the_high_contrast_syntax_theme_is_high_contrast() {
        assert!(has_theme(HIGH_CONTRAST), "the embedded theme loads");
        let src = "-- a comment\nlocal x = alc.llm(\"hi\", { max_tokens = 5 })\nif x == nil then return true end\n";
        let lines = highlight_lua(src, Some(HIGH_CONTRAST));
        let mut colours = std::collections::BTreeSet::new();
        for span in lines.iter().flat_map(|l| &l.spans) {
            let Some(Color::Rgb(r, g, b)) = span.style.fg else {
                panic!("{span:?} has no colour");
            };
            // Against its black background: at least 7:1 (WCAG AAA) for every token.
            let ratio = (luminance(r, g, b) + 0.05) / 0.05;
            assert!(ratio >= 7.0, "{span:?}: contrast {ratio:.1}");
            colours.insert((r, g, b));
        }
        assert!(colours.len() >= 4, "tokens are told apart: {colours:?}");
    }

    #[test]
    fn highlights_lua_keywords_in_colour_and_keeps_text() {
        let src = "local x = alc.llm(\"hi\")\n\tif x then return x end\n";
        let lines = highlight_lua(src, Some("base16-ocean.dark"));
        assert_eq!(lines.len(), 2);
        let text: String = lines[1].spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "    if x then return x end");
        let local = lines[0]
            .spans
            .iter()
            .find(|s| s.content == "local")
            .unwrap();
        let plain_colour = lines[0]
            .spans
            .iter()
            .find(|s| s.content.contains('x'))
            .unwrap();
        assert_ne!(
            local.style.fg, plain_colour.style.fg,
            "keywords are coloured"
        );
    }

    #[test]
    fn unknown_theme_is_plain() {
        let lines = highlight_lua("local x\n", Some("no such theme"));
        assert_eq!(lines, vec![Line::raw("local x")]);
    }
}
