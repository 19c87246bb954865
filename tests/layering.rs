//! Keeps the rooms apart, on the real dependency graph: every `crate::…` (and
//! `super::…` that leaves its room) path in `src/` is an edge between top-level
//! modules, and the rules below hold on those edges and on what each room names of the
//! terminal crates and of I/O. Test code (`#[cfg(test)]` items and the files they
//! include) is left out: it may use anything. A clippy `disallowed-types` list cannot
//! say this, as it applies to the whole crate, where ui/ and runtime/ use ratatui.
//!
//! - engine, answer, provider, headless: no terminal crate, here or in anything they
//!   reach; never app/ui/runtime (provider: not config either, it sees only the raw
//!   `providers` table it is given).
//! - app: no I/O (std::fs, std::process, std::net, std::env, tokio's fs/process/net,
//!   reqwest); none of runtime, ui, provider, cli, headless, config; of the answer room
//!   only its error type.
//! - ui only draws: it depends on app, theme and highlight alone, and does no I/O.
//! - testkit serves tests only; no top-level module depends on another in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates that draw on or read from a terminal.
const TERMINAL_CRATES: &[&str] = &["ratatui", "ratatui_textarea", "crossterm"];
/// `root::module` paths that do I/O.
const IO_PATHS: &[&str] = &[
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
struct Edge {
    file: String,
    line: usize,
    /// The path as written, from its root (`crate::config::Config`).
    path: String,
}

impl std::fmt::Display for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} (`{}`)", self.file, self.line, self.path)
    }
}

/// What the shipped code of each top-level module uses.
#[derive(Debug, Default)]
struct Graph {
    /// room → room it uses → every place it does.
    edges: BTreeMap<String, BTreeMap<String, Vec<Edge>>>,
    /// room → external paths (`ratatui::…`, `std::fs::…`) → the first place.
    externals: BTreeMap<String, BTreeMap<String, Edge>>,
}

// ---- reading the source ------------------------------------------------------------

/// The code with comments, strings and char literals blanked out (newlines kept, so
/// line numbers stay right), one ASCII character for each character of `text`.
fn strip(text: &str) -> String {
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
fn room_of(file: &str) -> Option<String> {
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
fn paths_from(code: &str, root: &str) -> Vec<(usize, String)> {
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
fn graph(files: &BTreeMap<String, String>) -> Graph {
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

// ---- the rules -----------------------------------------------------------------------

impl Graph {
    /// The rooms `room` uses, each with the first place it does.
    fn uses(&self, room: &str) -> impl Iterator<Item = (&String, &Edge)> {
        let uses = self.edges.get(room).into_iter().flatten();
        uses.filter_map(|(to, all)| Some((to, all.first()?)))
    }

    fn first_use(&self, from: &str, to: &str) -> Option<&Edge> {
        self.edges.get(from)?.get(to)?.first()
    }

    /// Every room `room` reaches, with the chain of edges that gets there.
    fn reach(&self, room: &str) -> BTreeMap<String, Vec<(String, Edge)>> {
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

    fn terminal_use(&self, room: &str) -> Option<&Edge> {
        let ext = self.externals.get(room)?;
        TERMINAL_CRATES.iter().find_map(|k| ext.get(*k))
    }
}

fn describe_chain(chain: &[(String, Edge)]) -> String {
    chain
        .iter()
        .map(|(step, edge)| format!("{step} at {edge}"))
        .collect::<Vec<_>>()
        .join(", then ")
}

/// Every broken rule, one message each: the rule, the file:line and the edge.
fn violations(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    let headless_rooms: [(&str, &[&str]); 4] = [
        (
            "engine",
            &[
                "app", "ui", "runtime", "cli", "provider", "answer", "config",
            ],
        ),
        ("answer", &["app", "ui", "runtime", "cli"]),
        ("provider", &["app", "ui", "runtime", "cli", "config"]),
        ("headless", &["app", "ui", "runtime", "cli"]),
    ];
    for (room, forbidden) in headless_rooms {
        if let Some(edge) = g.terminal_use(room) {
            out.push(format!(
                "{edge}: the {room} room must have no terminal dependency (ratatui, crossterm)"
            ));
        }
        for (to, chain) in g.reach(room) {
            if forbidden.contains(&to.as_str()) {
                out.push(format!(
                    "{room} must never reach {to}: {}",
                    describe_chain(&chain)
                ));
            }
            if let Some(edge) = g.terminal_use(&to) {
                out.push(format!(
                    "{room} reaches {to}, which uses a terminal crate at {edge}: {}",
                    describe_chain(&chain)
                ));
            }
        }
    }

    for (kind, edge) in g.externals.get("app").into_iter().flatten() {
        if IO_PATHS.contains(&kind.as_str()) || kind == "reqwest" {
            out.push(format!("{edge}: the app room does no I/O ({kind})"));
        }
    }
    for (to, edge) in g.uses("app") {
        let refused = [
            "runtime", "ui", "provider", "cli", "headless", "config", "theme",
        ];
        if refused.contains(&to.as_str()) {
            out.push(format!(
                "{edge}: app → {to}; the app room is the pure model and must not use {to}"
            ));
        }
    }
    let answer_uses = g.edges.get("app").and_then(|u| u.get("answer"));
    for edge in answer_uses.into_iter().flatten() {
        if edge.path != "crate::answer::SourceError" {
            out.push(format!(
                "{edge}: app → answer; of the answer room the model uses only `SourceError`"
            ));
        }
    }

    for (kind, edge) in g.externals.get("ui").into_iter().flatten() {
        if IO_PATHS.contains(&kind.as_str()) || kind == "reqwest" {
            out.push(format!(
                "{edge}: the ui room only draws, it does no I/O ({kind})"
            ));
        }
    }
    for (to, edge) in g.uses("ui") {
        if !["app", "theme", "highlight"].contains(&to.as_str()) {
            out.push(format!(
                "{edge}: ui → {to}; the ui room draws the app's model with the theme only"
            ));
        }
    }

    for room in g.edges.keys() {
        if let Some(edge) = g.first_use(room, "testkit") {
            out.push(format!(
                "{edge}: {room} → testkit; test helpers are for test code only"
            ));
        }
    }

    for cycle in cycles(g) {
        out.push(format!("a cycle between rooms: {}", describe_chain(&cycle)));
    }
    out
}

/// One cycle per room that lies on one, as the chain of edges around it.
fn cycles(g: &Graph) -> Vec<Vec<(String, Edge)>> {
    let mut found: Vec<Vec<(String, Edge)>> = Vec::new();
    let mut on_a_cycle = BTreeSet::new();
    for room in g.edges.keys() {
        if on_a_cycle.contains(room) {
            continue;
        }
        for (to, chain) in g.reach(room) {
            if let Some(back) = g.first_use(&to, room) {
                let mut cycle = chain.clone();
                cycle.push((format!("{to} → {room}"), back.clone()));
                for (step, _) in &cycle {
                    on_a_cycle.extend(step.split(" → ").map(str::to_string));
                }
                found.push(cycle);
                break;
            }
        }
    }
    found
}

// ---- the tests -------------------------------------------------------------------------

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn crate_sources() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&f).unwrap())
        })
        .collect()
}

#[test]
fn the_rooms_keep_to_their_rules() {
    let g = graph(&crate_sources());
    assert!(
        g.edges.contains_key("app") && g.edges.contains_key("ui"),
        "the graph found no edges: {g:?}"
    );
    let broken = violations(&g);
    assert!(
        broken.is_empty(),
        "layering rules broken:\n  {}",
        broken.join("\n  ")
    );
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect()
}

#[test]
fn bad_edges_are_named_with_file_and_line() {
    let files = tree(&[
        ("src/engine/mod.rs", "mod a;\n\nuse crate::app::Mode;\n"),
        (
            "src/app/mod.rs",
            "use crate::{engine::Query, provider::Prices};\n",
        ),
        (
            "src/provider/mod.rs",
            "// crate::ui::x in a comment is no edge\nuse crate::config::Config;\n",
        ),
        (
            "src/config.rs",
            "fn f() { let _ = crossterm::terminal::size(); }\n",
        ),
        (
            "src/ui/mod.rs",
            "fn f() { std::fs::read(\"crate::runtime::x\").ok(); }\n",
        ),
    ]);
    let broken = violations(&graph(&files)).join("\n");
    for expected in [
        "engine must never reach app: engine → app at src/engine/mod.rs:3 (`crate::app::Mode`)",
        "src/app/mod.rs:1 (`crate::provider::Prices`): app → provider",
        "provider must never reach config: provider → config at src/provider/mod.rs:2",
        "provider reaches config, which uses a terminal crate at src/config.rs:1 (`crossterm::terminal::size`)",
        "src/ui/mod.rs:1 (`std::fs::read`): the ui room only draws",
        "a cycle between rooms: app → engine at src/app/mod.rs:1 (`crate::engine::Query`), then engine → app at src/engine/mod.rs:3",
    ] {
        assert!(broken.contains(expected), "missing {expected:?} in:\n{broken}");
    }
    assert!(
        !broken.contains("runtime"),
        "a string is no edge:\n{broken}"
    );
}

#[test]
fn test_code_is_left_out() {
    let files = tree(&[
        (
            "src/engine/mod.rs",
            "pub mod a;\n#[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod tests;\n#[cfg(test)]\nmod inline {\n    use crate::testkit::x;\n}\n",
        ),
        ("src/engine/a_tests.rs", "use crate::app::Mode;\n"),
        ("src/engine/a.rs", "#[cfg(test)]\nmod helpers;\nfn f() -> &'static str { 'x'; \"}\" }\n"),
        ("src/engine/a/helpers.rs", "use crate::ui::draw;\n"),
    ]);
    let g = graph(&files);
    assert_eq!(violations(&g), Vec::<String>::new(), "{g:?}");
    // The same edge outside test code counts.
    let mut files = files;
    files.insert(
        "src/engine/b.rs".into(),
        "use super::super::app::Mode;\n".into(),
    );
    let broken = violations(&graph(&files)).join("\n");
    assert!(
        broken.contains("engine → app at src/engine/b.rs:1 (`super::super::app::Mode`)"),
        "{broken}"
    );
}
