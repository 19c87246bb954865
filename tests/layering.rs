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
//!   reqwest); none of runtime, ui, provider, cli, headless, config, theme; of the answer
//!   room only its error type.
//! - ui only draws: it depends on app, theme and highlight alone, and does no I/O.
//! - testkit serves tests only; no top-level module depends on another in a cycle.

#[path = "support/module_graph.rs"]
mod module_graph;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use module_graph::{graph, Edge, Graph, IO_PATHS};

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
