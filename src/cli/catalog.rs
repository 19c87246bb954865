//! What the TUI's picker offers: the demo scripts (found whatever the current
//! directory is) and every package that can run (its `init.lua` defines `run`), with
//! its `meta.description` and the fields of `M.spec.entries.run.input`.
//!
//! Packages are read as text, not run: loading 150 packages (and their `require`s)
//! into Lua to build a list would cost seconds and run their top-level code. The
//! reading follows the layout algocline packages use (`M.meta = { description = … }`,
//! `input = T.shape({ name = T.string … })`); what it cannot read is left out (no
//! description, no fields), never guessed.

use std::path::{Path, PathBuf};

use crate::app::picker::{Choice, FieldKind, InputField};
use crate::engine::packages;

/// The picker's offer: demo scripts first, then runnable packages by name.
pub fn choices(package_dirs: &[PathBuf]) -> Vec<Choice> {
    let mut out = demos();
    for name in packages::list(package_dirs) {
        if let Some(choice) = packages::find(&name, package_dirs)
            .and_then(|source| package_choice(&name, &source.text))
        {
            out.push(choice);
        }
    }
    out
}

/// `demo/*.lua` from the current directory, else from where the binary was built or
/// installed (so the demos are offered whatever the current directory is).
fn demos() -> Vec<Choice> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut dirs = vec![cwd.join("demo")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(bin) = exe.parent() {
            dirs.push(bin.join("../share/alc-workbench/demo"));
            dirs.push(bin.join("../../demo")); // target/{debug,release}/
        }
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("demo"));
    let Some(dir) = dirs.into_iter().find(|d| d.is_dir()) else {
        return Vec::new();
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            // Relative when it is under the current directory: shorter, as typed.
            let shown = p.strip_prefix(&cwd).unwrap_or(&p).display().to_string();
            let mut choice = Choice::from(shown.as_str());
            choice.description = first_comment(&std::fs::read_to_string(&p).unwrap_or_default());
            choice
        })
        .collect()
}

/// A demo's first comment line, as its description.
fn first_comment(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim();
    let comment = line.strip_prefix("--")?.trim_start_matches('-').trim();
    (!comment.is_empty()).then(|| comment.to_string())
}

/// The picker entry of a package, if it can run.
pub fn package_choice(name: &str, text: &str) -> Option<Choice> {
    if !runnable(text) {
        return None;
    }
    Some(Choice {
        name: name.to_string(),
        description: meta_description(text),
        package: true,
        input: run_input(text),
    })
}

/// Does the module define `run` (`function M.run(`, `M.run = …`)?
pub fn runnable(text: &str) -> bool {
    text.lines().map(str::trim).any(|line| {
        let defines = |name: &str| {
            name.rsplit_once('.').is_some_and(|(table, field)| {
                field == "run" && !table.is_empty() && table.chars().all(is_name_char)
            })
        };
        if let Some(rest) = line.strip_prefix("function ") {
            return rest.split('(').next().is_some_and(|n| defines(n.trim()));
        }
        line.split_once('=')
            .is_some_and(|(lhs, rhs)| !rhs.starts_with('=') && defines(lhs.trim()))
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `description = "…"` inside the `meta = { … }` table.
pub fn meta_description(text: &str) -> Option<String> {
    let start = text.find(".meta")?;
    let body = table_body(&text[start..])?;
    let at = body.find("description")?;
    let rest = body[at + "description".len()..].trim_start();
    lua_string(rest.strip_prefix('=')?.trim_start())
}

/// The fields of `spec.entries.run.input = T.shape({ … })`, required ones first.
pub fn run_input(text: &str) -> Vec<InputField> {
    let Some(fields) = run_input_body(text) else {
        return Vec::new();
    };
    let mut out: Vec<InputField> = top_level_entries(fields)
        .into_iter()
        .filter_map(|entry| {
            let (name, def) = entry.split_once('=')?;
            let name = name.trim();
            if name.is_empty() || !name.chars().all(is_name_char) {
                return None;
            }
            let def = def.trim();
            let kind_name = def
                .strip_prefix("T.")?
                .split(|c: char| !is_name_char(c))
                .next()
                .unwrap_or("");
            let kind = match kind_name {
                "string" => FieldKind::String,
                "number" | "integer" => FieldKind::Number,
                "boolean" => FieldKind::Boolean,
                "array_of" => FieldKind::Array,
                "shape" | "table" | "map_of" => FieldKind::Object,
                _ => FieldKind::Other,
            };
            Some(InputField {
                name: name.to_string(),
                kind,
                required: !def.contains(":is_optional()"),
            })
        })
        .collect();
    out.sort_by_key(|f| !f.required); // stable: required first, each in file order
    out
}

/// The text inside `input = T.shape({ … })` of the `run` entry.
fn run_input_body(text: &str) -> Option<&str> {
    let entries = text.find("entries")?;
    let after = &text[entries..];
    let run = find_key(after, "run")?;
    let after = &after[run..];
    let input = find_key(after, "input")?;
    let after = &after[input..];
    let shape = after.find("T.shape(")?;
    table_body(&after[shape..])
}

/// Where `key =` (as a whole word) first appears.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_name_char(c));
        let rest = &text[at + key.len()..];
        if before_ok && rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("==") {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

/// The text between the first `{` in `text` and its matching `}` (strings and
/// comments skipped).
fn table_body(text: &str) -> Option<&str> {
    let open = text.find('{')?;
    let mut depth = 0usize;
    let mut chars = text[open..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => skip_string(&mut chars, c),
            '-' if chars.peek().is_some_and(|(_, n)| *n == '-') => {
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '{' | '(' => depth += 1,
            '}' | ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&text[open + 1..open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::CharIndices>, quote: char) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c == quote => return,
            _ => {}
        }
    }
}

/// A table body split at its top-level commas (strings, calls and comments kept whole).
fn top_level_entries(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => skip_string(&mut chars, c),
            '-' if chars.peek().is_some_and(|(_, n)| *n == '-') => {
                let line_end = body[i..].find('\n').map_or(body.len(), |n| i + n);
                while chars.peek().is_some_and(|(j, _)| *j < line_end) {
                    chars.next();
                }
                if depth == 0 {
                    // A comment is not part of the next entry.
                    start = line_end;
                }
            }
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = body[start.min(body.len())..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// A Lua quoted string literal at the start of `text` (common escapes only).
fn lua_string(text: &str) -> Option<String> {
    let mut chars = text.chars();
    let quote = chars.next().filter(|c| *c == '"' || *c == '\'')?;
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c if c == quote => return Some(out),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const COT: &str = r#"--- cot: a comment with run( and description = "not this"
local S = require("alc_shapes")
local T = S.T
local M = {}

M.meta = {
    name        = "cot",
    description = "Iterative chain-of-thought — steps, then \"synthesis\"",
}

M.spec = {
    entries = {
        run = {
            input = T.shape({
                -- the question
                task  = T.string:describe("The question, or task, to reason about"),
                depth = T.number:is_optional():describe("Steps (default: 3)"),
                opts  = T.shape({ a = T.string, b = T.number }),
                hints = T.array_of(T.string):is_optional(),
            }),
            result = T.shape({ conclusion = T.string }),
        },
    },
}

function M.run(ctx)
    return ctx
end

return M
"#;

    #[test]
    fn reads_what_a_package_offers() {
        let c = package_choice("cot", COT).expect("runnable");
        assert_eq!(
            c.description.as_deref(),
            Some("Iterative chain-of-thought — steps, then \"synthesis\"")
        );
        let fields: Vec<(&str, FieldKind, bool)> = c
            .input
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.required))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("task", FieldKind::String, true),
                ("opts", FieldKind::Object, true),
                ("depth", FieldKind::Number, false),
                ("hints", FieldKind::Array, false),
            ]
        );
    }

    #[test]
    fn only_modules_that_define_run_can_run() {
        assert!(runnable("local M = {}\nfunction M.run(ctx) end\nreturn M"));
        assert!(runnable(
            "local M = {}\nM.run = function(ctx) end\nreturn M"
        ));
        assert!(runnable("local function go() end\nM.run = go\n"));
        let library = "local M = {}\nfunction M.prob_majority(n, p) end\n-- M.run(x)\nreturn M";
        assert!(!runnable(library));
        assert!(package_choice("condorcet", library).is_none());
        assert!(!runnable("if M.run == nil then end"));
    }

    #[test]
    fn what_cannot_be_read_is_left_out() {
        let c = package_choice("bare", "local M = {}\nfunction M.run() end\nreturn M").unwrap();
        assert_eq!(c.description, None);
        assert!(c.input.is_empty());
        assert_eq!(
            first_comment("-- Chain of thought: ask, then refine.\n"),
            Some("Chain of thought: ask, then refine.".into())
        );
        assert_eq!(first_comment("local x = 1\n"), None);
    }

    #[test]
    fn the_bundled_packages_are_offered_with_descriptions() {
        let offered = choices(&[]);
        let cot = offered
            .iter()
            .find(|c| c.name == "cot")
            .expect("bundled cot");
        assert!(cot.package && cot.description.is_some());
        assert!(
            offered
                .iter()
                .any(|c| !c.package && c.name.ends_with("cot.lua")),
            "demos whatever the current directory"
        );
    }
}
