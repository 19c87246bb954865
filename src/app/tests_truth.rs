//! Unit tests of "the screen tells the truth": nothing is cut off silently (long
//! source lines scroll sideways or wrap, a tall prompt's end is reachable, a review
//! draft opens at its start), and the trace tells queries apart and can be searched.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;
use serde_json::json;

use super::*;
use crate::engine::{AnswerOrigin, Metrics, SessionEvent};
use crate::testkit::{query, started};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 100,
        event,
        metrics: Metrics::default(),
    })
}

fn running(mode: Mode, source: Option<&str>) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        autostart: true,
        mode,
        answer_source: source.map(str::to_string),
        size: (100, 30),
        ..Default::default()
    });
    update(&mut app, at(1, started("demo/cot.lua", json!({}))));
    app
}

fn pause(app: &mut App, seq: u64, queries: Vec<Query>) -> Vec<Effect> {
    update(
        app,
        at(
            seq,
            SessionEvent::Paused {
                pause: seq,
                queries,
            },
        ),
    )
}

#[test]
fn a_review_draft_opens_at_its_start() {
    let mut app = running(Mode::Review, Some("local"));
    pause(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    let text = (1..=40)
        .map(|i| format!("line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    update(
        &mut app,
        Msg::SourceReply {
            request: 1,
            id: "q-1".into(),
            result: Ok(Answer::new(text.clone(), AnswerOrigin::Provider)),
        },
    );
    let q = app.pending.current().unwrap();
    assert_eq!(q.answer_text(), text);
    assert_eq!(
        q.editor.cursor(),
        (0, 0),
        "the view follows the cursor: the top"
    );
}

#[test]
fn the_end_of_a_prompt_taller_than_the_pane_is_reachable() {
    let mut app = running(Mode::Manual, None);
    // Long words and long lines: word wrap takes more rows than columns / width.
    let prompt = (1..=60)
        .map(|i| format!("row {i} {}", "abcdefghij ".repeat(i % 9)))
        .collect::<Vec<_>>()
        .join("\n")
        + "\nTHE END";
    pause(&mut app, 2, vec![query("q-1", &prompt, "demo/cot.lua", 3)]);
    assert!(app.editing());
    for _ in 0..200 {
        update(&mut app, code(KeyCode::PageDown));
    }
    let pane = app.layout().unwrap().pending;
    let q = app.pending.current().unwrap();
    let rows = q.prompt_rows(pane.width - 2);
    let height = pane.height as usize - 2;
    assert!(rows.len(0) > height);
    let scroll = app.pending.prompt_scroll;
    assert_eq!(scroll + height, rows.len(0), "scrolled to the very end");
    let last = rows.visible(&q.query, &[], rows.len(0) - 1, 1);
    assert_eq!(last, vec![wrap::BodyRow::Prompt("THE END")]);
    // And back up at once (the scroll did not run past the end).
    update(&mut app, code(KeyCode::PageUp));
    assert_eq!(app.pending.prompt_scroll, scroll - height);
}

#[test]
fn long_source_lines_scroll_sideways_or_wrap() {
    let mut app = running(Mode::Manual, None);
    let long = format!("local x = \"{}\"", "y".repeat(200));
    update(
        &mut app,
        Msg::SourceLoaded {
            file: "demo/cot.lua".into(),
            lines: vec![Line::raw("-- short"), Line::raw(long.clone())],
        },
    );
    assert_eq!(app.focus, Focus::Source);
    assert_eq!(
        app.key_contexts()[0],
        KeyContext::Source,
        "the Source pane has its own keys"
    );
    for _ in 0..100 {
        update(&mut app, key('l'));
    }
    let inner = app.layout().unwrap().source.width as usize - 2;
    let text_width = inner - app.source.gutter();
    assert_eq!(
        app.source.hscroll,
        long.len() - text_width,
        "the end in view"
    );
    update(&mut app, code(KeyCode::Left));
    assert_eq!(app.source.hscroll, long.len() - text_width - 8);
    update(&mut app, key('w'));
    assert!(app.source.wrap);
    assert_eq!(app.source.hscroll, 0);
    assert!(app.message.as_deref().unwrap().contains("wrap"));
}

#[test]
fn the_trace_shows_what_tells_queries_apart_and_slash_searches_it() {
    let mut app = running(Mode::Manual, None);
    let task = "Task: why is the sky blue?";
    pause(
        &mut app,
        2,
        vec![query(
            "q-1",
            &format!("{task}\nPrevious: none"),
            "demo/cot.lua",
            3,
        )],
    );
    pause(
        &mut app,
        3,
        vec![query(
            "q-2",
            &format!("{task}\nPrevious: Rayleigh"),
            "demo/cot.lua",
            3,
        )],
    );
    pause(&mut app, 4, vec![query("q-3", "Vote A", "demo/cot.lua", 9)]);
    let summaries: Vec<_> = (0..app.trace.len())
        .map(|n| app.trace.get(n).unwrap())
        .filter(|e| e.head.starts_with("llm"))
        .map(|e| e.summary().to_string())
        .collect();
    assert_eq!(summaries, vec![task, "Previous: Rayleigh", "Vote A"]);

    // `/` in the trace opens the search; enter finds, n and N move between matches.
    update(&mut app, code(KeyCode::Tab)); // pending → trace (focus is on Pending)
    assert_eq!(app.focus, Focus::Trace);
    update(&mut app, key('/'));
    assert!(matches!(app.overlay, Some(Overlay::Search { .. })));
    for c in "PREVIOUS".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Enter));
    assert!(app.overlay.is_none());
    assert_eq!(app.trace.search.as_deref(), Some("PREVIOUS"));
    let shown = |app: &App| {
        app.trace
            .get(app.trace.cursor().unwrap())
            .unwrap()
            .head
            .to_string()
    };
    assert_eq!(shown(&app), "llm q-1", "wraps around to the first match");
    update(&mut app, key('n'));
    assert_eq!(shown(&app), "llm q-2");
    update(&mut app, key('N'));
    assert_eq!(shown(&app), "llm q-1");
    update(&mut app, key('/'));
    for _ in 0..8 {
        update(&mut app, code(KeyCode::Backspace));
    }
    for c in "zebra".chars() {
        update(&mut app, key(c));
    }
    update(&mut app, code(KeyCode::Enter));
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("no trace entry matches"));
    assert_eq!(shown(&app), "llm q-1", "the cursor stays");
}

fn lines(n: usize, name: &str) -> Vec<Line<'static>> {
    (1..=n).map(|i| Line::raw(format!("{name} {i}"))).collect()
}

fn loaded(app: &mut App, file: &str, n: usize) -> Vec<Effect> {
    update(
        app,
        Msg::SourceLoaded {
            file: file.into(),
            lines: lines(n, file),
        },
    )
}

fn loads(fx: &[Effect]) -> Vec<&str> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::LoadScript(file) => Some(file.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_source_pane_follows_the_query_shown_into_fork_children() {
    let mut app = running(Mode::Manual, None);
    loaded(&mut app, "demo/cot.lua", 20);
    let cot = "bundled/cot/init.lua";
    let reflect = "bundled/reflect/init.lua";
    // `panel` forks cot and reflect: one pause, queries from two packages.
    let fx = pause(
        &mut app,
        2,
        vec![query("q-1", "a", cot, 5), query("q-2", "b", reflect, 9)],
    );
    assert_eq!(loads(&fx), vec![cot], "the shown query's file");
    assert_eq!(app.source.paused_line(), None, "no mark on another file");
    loaded(&mut app, cot, 30);
    assert_eq!(app.source.file.as_deref(), Some(cot));
    assert_eq!(app.source.paused_line(), Some(5));
    // The next query of the pause lives in reflect: its file, its line.
    let fx = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
    );
    assert_eq!(loads(&fx), vec![reflect]);
    assert_eq!(
        app.source.paused_line(),
        None,
        "cot's file never shows reflect's line"
    );
    loaded(&mut app, reflect, 30);
    assert_eq!(app.source.paused_line(), Some(9));
    // A late arrival of a file no longer wanted does not replace it.
    let fx = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL)),
    );
    assert_eq!(loads(&fx), vec![cot]);
    loaded(&mut app, reflect, 30);
    assert_eq!(app.source.loading.as_deref(), Some(cot));
    loaded(&mut app, cot, 30);
    assert_eq!(app.source.paused_line(), Some(5));
}

#[test]
fn a_failure_inside_a_package_shows_and_marks_its_line() {
    let mut app = running(Mode::Manual, None);
    loaded(&mut app, "demo/cot.lua", 20);
    let pkg = "/pkgs/deep/init.lua";
    let fx = update(&mut app, at(2, crate::testkit::failed("boom", pkg, 80)));
    assert_eq!(loads(&fx), vec![pkg]);
    loaded(&mut app, pkg, 120);
    assert_eq!(app.source.error_line(), Some(80));
    let height = app.pane_height(Focus::Source);
    let scroll = app.source.scroll;
    assert!(scroll < 80 && 80 <= scroll + height, "line 80 in view");
}

#[test]
fn after_a_cancel_the_line_where_the_strategy_stood_is_marked() {
    let mut app = running(Mode::Manual, None);
    loaded(&mut app, "demo/cot.lua", 20);
    pause(&mut app, 2, vec![query("q-1", "a", "demo/cot.lua", 11)]);
    assert_eq!(app.source.paused_line(), Some(11));
    update(&mut app, code(KeyCode::Tab));
    update(&mut app, key('c'));
    assert_eq!(update(&mut app, key('y')), vec![Effect::Cancel]);
    update(
        &mut app,
        at(
            3,
            SessionEvent::Finished(crate::engine::Outcome {
                status: crate::engine::Status::Cancelled,
                result: None,
                error: None,
                metrics: Default::default(),
            }),
        ),
    );
    assert_eq!(app.state(), SessionState::Cancelled);
    assert_eq!(app.source.paused_line(), None);
    assert_eq!(app.source.stopped_line(), Some(11));
    assert_eq!(app.source.error_line(), None, "a cancel is not a failure");
    // A re-run reads the script again (it may have been edited) and clears the marks.
    let fx = update(&mut app, key('r'));
    assert_eq!(loads(&fx), vec!["demo/cot.lua"]);
    assert_eq!(app.source.stopped_line(), None);
}
