//! Long text in the Pending pane and the Answer box: a prompt of more rows than a u16
//! counts scrolls to its end (End, PageUp, Home) with its "more below" / "above"
//! marker counting the same rows, a single huge line too, a system
//! prompt wraps beside its label, and streamed or answered text shows its end or its
//! start. The prompt is wrapped once per width and kept (drawing does not wrap it).
//! Built by feeding messages to `update`, drawn on a `TestBackend`. (Frame and
//! keystroke times with 10 MB of text are measured in benches/tui.rs.)

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::{update, App, AppOptions, Focus, Mode, Msg};
use alc_workbench::engine::{Metrics, Query, SessionEvent, Stamped};
use alc_workbench::testkit::{query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/long.lua";
const W: u16 = 100;
const H: u16 = 30;

fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq,
        event,
        metrics: Metrics::default(),
    })
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// An auto-mode session whose source is working on `q`, the Pending pane focused (so
/// the scroll keys scroll the prompt).
fn asking(q: Query) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({}),
        autostart: true,
        mode: Mode::Auto,
        answer_source: Some("answers file".into()),
        size: (W, H),
        ..Default::default()
    });
    update(&mut app, at(1, started(FILE, json!({}))));
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![q],
            },
        ),
    );
    while app.focus != Focus::Pending {
        update(&mut app, key(KeyCode::Tab));
    }
    assert!(!app.editing());
    app
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    terminal.backend().to_string()
}

/// The Pending pane's inner rows, right half of the screen, trimmed.
fn pending_rows(app: &App) -> Vec<String> {
    let layout = app.layout().unwrap();
    let rect = layout.pending;
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    let buffer = terminal.backend().buffer();
    (rect.y + 1..rect.y + rect.height - 1)
        .map(|y| {
            (rect.x + 1..rect.x + rect.width - 1)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// The Pending pane's bottom border, where the "more below" / "above" marker goes.
fn pending_border(app: &App) -> String {
    let rect = app.layout().unwrap().pending;
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    let buffer = terminal.backend().buffer();
    (rect.x..rect.x + rect.width)
        .map(|x| buffer[(x, rect.y + rect.height - 1)].symbol())
        .collect()
}

#[test]
fn a_prompt_of_more_rows_than_u16_scrolls_to_its_end_and_back() {
    let lines = 100_000;
    let prompt: String = (1..=lines)
        .map(|i| format!("row {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut app = asking(query("q-1", &prompt, FILE, 1));
    let width = app.layout().unwrap().pending.width - 2;
    let kept = app.pending.current().unwrap().rows.clone().unwrap();
    assert_eq!((kept.width, kept.prompt.len()), (width, lines));

    assert_eq!(pending_rows(&app)[0], "row 1");
    let height = pending_rows(&app).len();
    // The marker counts the same kept rows as the drawing and the scroll.
    let border = pending_border(&app);
    assert!(
        border.contains(&format!("▼ {} more below", lines - height)),
        "{border}"
    );
    assert!(!border.contains("above"), "{border}");
    update(&mut app, key(KeyCode::End));
    let rows = pending_rows(&app);
    assert_eq!(rows.last().unwrap(), &format!("row {lines}"), "{rows:?}");
    assert_eq!(rows[0], format!("row {}", lines - height + 1));
    let border = pending_border(&app);
    assert!(
        border.contains(&format!("▲ {} above", lines - height)),
        "{border}"
    );
    assert!(!border.contains("more below"), "{border}");
    // Scrolling back responds at once: the position was kept at the end, not past it.
    update(&mut app, key(KeyCode::Up));
    assert_eq!(
        pending_rows(&app).last().unwrap(),
        &format!("row {}", lines - 1)
    );
    update(&mut app, key(KeyCode::Home));
    assert_eq!(pending_rows(&app)[0], "row 1");
    // Drawing used the kept rows: nothing was wrapped again.
    assert_eq!(app.pending.current().unwrap().rows.as_ref(), Some(&kept));
}

#[test]
fn one_huge_line_wraps_and_its_end_is_reachable() {
    let prompt = format!("{}THE END", "word ".repeat(400_000));
    let mut app = asking(query("q-1", &prompt, FILE, 1));
    update(&mut app, key(KeyCode::End));
    let rows = pending_rows(&app);
    assert!(rows.last().unwrap().ends_with("word THE END"), "{rows:?}");
    assert!(rows.iter().all(|r| r.starts_with("word")), "{rows:?}");
}

#[test]
fn a_system_prompt_wraps_beside_its_label_and_a_resize_rewraps() {
    let mut q = query(
        "q-1",
        "The question itself, after the system prompt.",
        FILE,
        1,
    );
    q.system = Some(
        "You are a careful physicist who explains things in two sentences, \
         never more, and always names the effect."
            .into(),
    );
    let mut app = asking(q);
    assert_snapshot!("system_prompt_wrapped", screen(&app));
    update(&mut app, Msg::Resize(80, 30));
    let width = app.layout().unwrap().pending.width - 2;
    assert_eq!(
        app.pending.current().unwrap().rows.as_ref().unwrap().width,
        width
    );
}

#[test]
fn streamed_text_shows_its_end() {
    let mut app = asking(query("q-1", "Tell me everything.", FILE, 1));
    let long = (1..=200_000)
        .map(|i| format!("streamed line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    update(
        &mut app,
        Msg::StreamText {
            request: 1,
            id: "q-1".into(),
            text: long,
        },
    );
    update(
        &mut app,
        Msg::StreamText {
            request: 1,
            id: "q-1".into(),
            text: " and the newest words".into(),
        },
    );
    let text = screen(&app);
    assert!(
        text.contains("streamed line 200000 and the newest words"),
        "{text}"
    );
    assert!(!text.contains("streamed line 1 "), "{text}");
}
