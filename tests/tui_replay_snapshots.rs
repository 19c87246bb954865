//! Snapshots of the diff overlay (`D`): this run against its parent, a row per query
//! (same / answer changed / prompt changed / new / gone) and the result; a row's texts
//! as a unified diff; the two results side by side. Characters only, on a
//! `TestBackend`, built by feeding messages to `update`.

use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};

use alc_workbench::app::replay::DiffData;
use alc_workbench::app::{update, App, AppOptions, Msg};
use alc_workbench::engine::replay::{diff, Recording};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

/// A transcript of `(id, fork, prompt, answer)` queries ending with `result`.
fn transcript(
    dir: &Path,
    name: &str,
    queries: &[(&str, Option<&str>, &str, &str)],
    result: Value,
) -> Recording {
    let mut lines = vec![json!({"seq": 1, "t_ms": 0, "event": "session",
        "script": "s.lua", "script_sha256": "ab", "ctx": {}, "seed": 3,
        "version": "0.1.0", "state": {"ns": "default", "values": {}}})];
    let mut seq = 2;
    for (id, fork, prompt, answer) in queries {
        lines.push(
            json!({"seq": seq, "t_ms": 0, "event": "query", "id": id, "prompt": prompt,
            "system": null, "max_tokens": 200, "grounded": false, "underspecified": false,
            "site": null, "pause": seq, "fork": fork}),
        );
        lines.push(
            json!({"seq": seq + 1, "t_ms": 0, "event": "answer", "id": id,
            "text": answer, "source": "human", "model": null, "usage": null, "latency_ms": 0}),
        );
        seq += 2;
    }
    lines.push(
        json!({"seq": seq, "t_ms": 0, "event": "end", "status": "completed",
        "result": result, "error": null, "metrics": {}}),
    );
    let path = dir.join(name);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    Recording::load(&path).unwrap()
}

fn app_with_diff() -> App {
    let dir = tempfile::tempdir().unwrap();
    let parent = transcript(
        dir.path(),
        "parent.jsonl",
        &[
            ("q-1", None, "Task: sky\nStep 1 of 3.", "Light scatters."),
            (
                "q-2",
                None,
                "Task: sky\nStep 2 of 3.",
                "Blue scatters most.",
            ),
            (
                "q-3",
                None,
                "Task: sky\nStep 3 of 3.",
                "So the sky is blue.",
            ),
            (
                "q-4",
                None,
                "Task: sky\nAnswer in one line.",
                "Rayleigh scattering.",
            ),
        ],
        json!({"answer": "Rayleigh scattering.", "steps": 3}),
    );
    let run = transcript(
        dir.path(),
        "whatif.jsonl",
        &[
            ("q-1", None, "Task: sky\nStep 1 of 3.", "Light scatters."),
            (
                "q-2",
                None,
                "Task: sky\nStep 2 of 3.",
                "Short waves scatter most.",
            ),
            (
                "q-3",
                None,
                "Task: sky\nStep 3 of 3, given: short waves.",
                "So it is blue.",
            ),
            ("q-4", Some("critic"), "Check the chain.", "Looks right."),
        ],
        json!({"answer": "So it is blue.", "steps": 3}),
    );
    let (mut app, _) = App::new(AppOptions {
        script: Some("s.lua".into()),
        autostart: false,
        size: (100, 30),
        ..Default::default()
    });
    let data = DiffData {
        diff: diff(&parent, &run),
        left: Arc::new(parent),
        right: Arc::new(run),
    };
    update(&mut app, Msg::DiffReady(Ok(Arc::new(data))));
    app
}

#[test]
fn diff_overlay_rows() {
    let mut app = app_with_diff();
    key(&mut app, KeyCode::Down);
    assert_snapshot!("diff_overlay_rows", screen(&app));
}

#[test]
fn diff_overlay_texts_of_a_changed_prompt() {
    let mut app = app_with_diff();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert_snapshot!("diff_overlay_prompt_changed", screen(&app));
}

#[test]
fn diff_overlay_results_side_by_side_then_json() {
    let mut app = app_with_diff();
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE)),
    );
    assert_snapshot!("diff_overlay_results_json", screen(&app));
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE)),
    );
    assert_snapshot!("diff_overlay_results_side_by_side", screen(&app));
}
