//! The module graph of this crate's `src/`, read from the text of its files, for
//! `tests/layering.rs`: each top-level module's edges to the others (`crate::…` paths,
//! and `super::…` ones that climb out of it) and the terminal crates and I/O modules it
//! names, with the file and line of each. Comments, strings and test code
//! (`#[cfg(test)]` items and the files they declare) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crates that draw on or read from a terminal.
pub const TERMINAL_CRATES: &[&str] = &["ratatui", "ratatui_textarea", "crossterm"];
/// `root::module` paths that do I/O.
pub const IO_PATHS: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net",
    "std::env",
    "tokio::fs",
    "tokio::process",
    "tokio::net",
];

/// One use of something outside the file's room.
#[derive(Debug, Clone)]
pub struct Edge {
    pub file: String,
    pub line: usize,
    /// The path as written, from its root (`crate::config::Config`).
    pub path: String,
}

impl std::fmt::Display for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} (`{}`)", self.file, self.line, self.path)
    }
}

/// What the shipped code of each top-level module uses.
#[derive(Debug, Default)]
pub struct Graph {
    /// room → room it uses → every place it does.
    pub edges: BTreeMap<String, BTreeMap<String, Vec<Edge>>>,
    /// room → external paths (`ratatui::…`, `std::fs::…`) → the first place.
    pub externals: BTreeMap<String, BTreeMap<String, Edge>>,
}

/// The code with comments, strings and char literals blanked out (newlines kept, so
/// line numbers stay right), one ASCII character for each character of `text`.
pub fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (!ident_char_before(&b, i) || (b[i - 1] == 'b' && !ident_char_before(&b, i - 1)))
        {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.extend(b[i..j.min(b.len())].iter().map(|&c| blank(c)));
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'), not a lifetime ('a).
            let end = if next == Some('\\') {
                b.get(i + 3..)
                    .and_then(|tail| tail.iter().position(|&c| c == '\''))
                    .map(|p| i + 3 + p)
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            // Kept ASCII, so byte offsets in the result are char offsets of the text.
            out.push(if c.is_ascii() { c } else { '_' });
            i += 1;
        }
    }
    out
}

fn ident_char_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Where `#[cfg(test)] mod x;` declarations of one file point: `(true, p)` for a
/// `#[path = "p"]` one (relative to the file's directory), `(false, "x.rs")` otherwise
/// (relative to the file's own module directory).
type TestModFile = (bool, String);

/// The code without its `#[cfg(test)]` items (the attribute and the item after it are
/// blanked, lines kept), and the files those items declare. `code` is `strip`ped
/// (ASCII), `original` the text it came from, for `#[path = "…"]` values.
fn without_test_items(code: &str, original: &str) -> (String, Vec<TestModFile>) {
    let orig: Vec<char> = original.chars().collect();
    let mut out = code.as_bytes().to_vec();
    let mut declared = Vec::new();
    let mut search = 0;
    while let Some(found) = code[search..].find("#[cfg(") {
        let start = search + found;
        let Some(close) = code[start..].find(']') else {
            break;
        };
        let attr = &code[start..start + close];
        search = start + close + 1;
        let is_test = attr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == "test");
        if !is_test || attr.contains("not(") {
            continue;
        }
        // Further attributes, then the item: up to its `;` or through its braces.
        let mut k = search;
        let mut path_attr = None;
        loop {
            k += code[k..].len() - code[k..].trim_start().len();
            if !code[k..].starts_with("#[") {
                break;
            }
            let Some(e) = code[k..].find(']') else { break };
            if code[k..k + e].contains("path") {
                let raw: String = orig[k..k + e].iter().collect();
                path_attr = raw.split('"').nth(1).map(str::to_string);
            }
            k += e + 1;
        }
        let mut depth = 0usize;
        let mut end = code.len();
        for (j, ch) in code[k..].bytes().enumerate() {
            match ch {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + j + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = k + j + 1;
                    let words: Vec<&str> = code[k..k + j].split_whitespace().collect();
                    if words.contains(&"mod") {
                        let name = words.last().copied().unwrap_or_default();
                        declared.push(match path_attr.take() {
                            Some(p) => (true, p),
                            None => (false, format!("{name}.rs")),
                        });
                    }
                    break;
                }
                _ => {}
            }
        }
        for byte in &mut out[start..end] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        search = end;
    }
    (String::from_utf8(out).unwrap_or_default(), declared)
}

/// The files only test code includes (`#[cfg(test)] mod x;`, with or without
/// `#[path]`).
fn test_only_files(files: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut test_only = BTreeSet::new();
    for (file, text) in files {
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        let own_dir = match Path::new(file).file_stem().and_then(|s| s.to_str()) {
            Some("mod" | "lib" | "main") | None => dir.to_path_buf(),
            Some(stem) => dir.join(stem),
        };
        let (_, declared) = without_test_items(&strip(text), text);
        for (by_path, name) in declared {
            let p = if by_path {
                dir.join(name)
            } else {
                own_dir.join(name)
            };
            test_only.insert(p.to_string_lossy().replace('\\', "/"));
        }
    }
    test_only
}

/// Is `file` test code: declared by a test item, or inside a module that is?
fn is_test_only(file: &str, test_only: &BTreeSet<String>) -> bool {
    let mut dir = Path::new(file);
    if test_only.contains(file) {
        return true;
    }
    while let Some(parent) = dir.parent() {
        let as_file = format!("{}.rs", parent.display());
        let as_mod = format!("{}/mod.rs", parent.display());
        if test_only.contains(&as_file) || test_only.contains(&as_mod) {
            return true;
        }
        dir = parent;
    }
    false
}

/// The top-level module a file belongs to (`src/app/keymap.rs` → `app`); `None` for
/// the crate root (`lib.rs`, `main.rs`).
pub fn room_of(file: &str) -> Option<String> {
    let rel = file.strip_prefix("src/")?;
    let first = rel.split('/').next()?;
    let room = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(room, "lib" | "main")).then(|| room.to_string())
}

/// `src/app/keymap.rs` → `["app", "keymap"]`, to resolve `super::`.
fn module_path(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file);
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
    if !matches!(stem.as_str(), "mod" | "lib" | "main") {
        parts.push(stem);
    }
    parts
}

/// Every path rooted at `root::` in `code`, without the root: `crate::a::b` → `a::b`,
/// `crate::{a::X, b::{c, d}}` → `a::X` and `b::{…}`. With the line it is on.
pub fn paths_from(code: &str, root: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let needle = format!("{root}::");
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(pos) = code[from..].find(&needle) {
        let at = from + pos;
        from = at + needle.len();
        if at > 0 {
            let p = bytes[at - 1];
            if p.is_ascii_alphanumeric() || p == b'_' || p == b':' || p == b'$' {
                continue;
            }
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = code[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => {
                        if depth == 0 {
                            item.push_str("{…}");
                        }
                        depth += 1;
                    }
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => found.push((line, std::mem::take(&mut item))),
                    c if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            found.push((line, item));
        } else {
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            found.push((line, path.trim_end_matches(':').to_string()));
        }
    }
    found
        .into_iter()
        .map(|(l, p)| (l, p.split_whitespace().collect::<String>()))
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

/// Builds the graph from `files` (path relative to the crate → text).
pub fn graph(files: &BTreeMap<String, String>) -> Graph {
    let test_only = test_only_files(files);
    let mut g = Graph::default();
    for (file, text) in files {
        let Some(room) = room_of(file) else { continue };
        if is_test_only(file, &test_only) {
            continue;
        }
        let (code, _) = without_test_items(&strip(text), text);
        let edge = |line: usize, path: String| Edge {
            file: file.clone(),
            line,
            path,
        };
        let mut add_edge = |to: String, e: Edge| {
            let uses = g.edges.entry(room.clone()).or_default();
            uses.entry(to).or_default().push(e);
        };
        for (line, path) in paths_from(&code, "crate") {
            let target = path.split("::").next().unwrap_or("").to_string();
            if target != room && target != "self" {
                add_edge(target, edge(line, format!("crate::{path}")));
            }
        }
        // `super::super::x` that climbs out of the room.
        let depth = module_path(file).len();
        for (line, path) in paths_from(&code, "super") {
            let mut ups = 1;
            let mut rest = path.as_str();
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            if ups >= depth {
                let target = rest.split("::").next().unwrap_or("").to_string();
                if !target.is_empty() && target != room {
                    add_edge(
                        target,
                        edge(line, format!("{}{rest}", "super::".repeat(ups))),
                    );
                }
            }
        }
        let mut add_external = |kind: &str, e: Edge| {
            let used = g.externals.entry(room.clone()).or_default();
            used.entry(kind.to_string()).or_insert(e);
        };
        for krate in TERMINAL_CRATES {
            for (line, path) in paths_from(&code, krate) {
                add_external(krate, edge(line, format!("{krate}::{path}")));
            }
            let used = code.lines().enumerate().find(|(_, l)| {
                let l = l.trim_start();
                l.starts_with(&format!("use {krate};")) || l.starts_with(&format!("use {krate} "))
            });
            if let Some((i, _)) = used {
                add_external(krate, edge(i + 1, format!("use {krate}")));
            }
        }
        for io in IO_PATHS {
            let (root, module) = io.split_once("::").unwrap();
            for (line, path) in paths_from(&code, root) {
                let first = path.split("::").next().unwrap_or("");
                if first == module {
                    add_external(io, edge(line, format!("{root}::{path}")));
                }
            }
        }
        for (line, path) in paths_from(&code, "reqwest") {
            add_external("reqwest", edge(line, format!("reqwest::{path}")));
        }
    }
    g
}

impl Graph {
    /// The rooms `room` uses, each with the first place it does.
    pub fn uses(&self, room: &str) -> impl Iterator<Item = (&String, &Edge)> {
        let uses = self.edges.get(room).into_iter().flatten();
        uses.filter_map(|(to, all)| Some((to, all.first()?)))
    }

    pub fn first_use(&self, from: &str, to: &str) -> Option<&Edge> {
        self.edges.get(from)?.get(to)?.first()
    }

    /// Every room `room` reaches, with the chain of edges that gets there.
    pub fn reach(&self, room: &str) -> BTreeMap<String, Vec<(String, Edge)>> {
        let mut seen: BTreeMap<String, Vec<(String, Edge)>> = BTreeMap::new();
        let mut todo = vec![(room.to_string(), Vec::new())];
        while let Some((at, chain)) = todo.pop() {
            for (to, edge) in self.uses(&at) {
                if to == room || seen.contains_key(to) {
                    continue;
                }
                let mut chain: Vec<(String, Edge)> = chain.clone();
                chain.push((format!("{at} → {to}"), edge.clone()));
                seen.insert(to.clone(), chain.clone());
                todo.push((to.clone(), chain));
            }
        }
        seen
    }

    pub fn terminal_use(&self, room: &str) -> Option<&Edge> {
        let ext = self.externals.get(room)?;
        TERMINAL_CRATES.iter().find_map(|k| ext.get(*k))
    }
}
