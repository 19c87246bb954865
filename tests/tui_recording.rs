//! Where the transcript goes, on screen: the status bar says "recording to PATH" from a
//! session's start until the first key or a few seconds of session time, with a long
//! path elided in its middle rather than cut off. (That the real binary shows it and
//! prints `transcript: PATH` on exit is checked in tests/pty.rs.)

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::recording::NOTE_MS;
use alc_workbench::app::{update, App, AppOptions, Msg};
use alc_workbench::engine::{Metrics, SessionEvent, Stamped};
use alc_workbench::testkit::{query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "demo/cot.lua";
const PATH: &str = "/home/ada/.local/share/alc-workbench/transcripts/1712345678901-cot.jsonl";
const SHOWN: &str = "~/.local/share/alc-workbench/transcripts/1712345678901-cot.jsonl";

fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 10,
        event,
        metrics: Metrics::default(),
    })
}

/// A session that just started recording and waits on its first query.
fn recording(width: u16) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({}),
        autostart: true,
        size: (width, 20),
        ..Default::default()
    });
    update(
        &mut app,
        Msg::Recording {
            path: PATH.into(),
            shown: SHOWN.into(),
        },
    );
    update(&mut app, at(1, started(FILE, json!({}))));
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", "Why?", FILE, 3)],
            },
        ),
    );
    app
}

/// The bottom row of the drawn screen: the status bar.
fn status_bar(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::built_in("dark").unwrap();
    terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
    let buffer = terminal.backend().buffer();
    (0..w)
        .map(|x| buffer[(x, h - 1)].symbol())
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[test]
fn the_status_bar_says_where_the_transcript_goes_at_start() {
    let app = recording(140);
    let bar = status_bar(&app);
    assert!(bar.contains(&format!("recording to {SHOWN}")), "{bar}");
    assert_snapshot!("recording_wide", bar);
    assert_eq!(app.recording.paths, vec![std::path::PathBuf::from(PATH)]);

    // Narrow: the middle of the path goes, its root and file name stay.
    let bar = status_bar(&recording(60));
    assert!(bar.contains("recording to ~/…"), "{bar}");
    assert!(bar.contains("-cot.jsonl"), "{bar}");
    assert_snapshot!("recording_narrow", bar);
}

#[test]
fn the_note_goes_at_the_first_key() {
    let mut app = recording(140);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
    );
    assert!(!status_bar(&app).contains("recording to"));
    // The path is still known, for the line printed on exit.
    assert_eq!(app.recording.paths.len(), 1);
}

#[test]
fn the_note_goes_after_a_few_seconds_of_session_time() {
    let mut app = recording(140);
    update(
        &mut app,
        Msg::Tick {
            now_ms: NOTE_MS - 1,
            metrics: None,
        },
    );
    assert!(status_bar(&app).contains("recording to"));
    update(
        &mut app,
        Msg::Tick {
            now_ms: NOTE_MS + 30,
            metrics: None,
        },
    );
    assert!(!status_bar(&app).contains("recording to"));
}

#[test]
fn a_message_wins_over_the_note() {
    let mut app = recording(140);
    app.message = Some("could not start: boom".into());
    let bar = status_bar(&app);
    assert!(bar.contains("could not start: boom"), "{bar}");
    assert!(!bar.contains("recording to"), "{bar}");
}

#[test]
fn each_transcript_is_listed_once_in_order() {
    let mut app = recording(140);
    for path in ["/t/b.jsonl", PATH, "/t/c.jsonl"] {
        update(
            &mut app,
            Msg::Recording {
                path: path.into(),
                shown: path.into(),
            },
        );
    }
    let listed: Vec<String> = app
        .recording
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(listed, vec![PATH, "/t/b.jsonl", "/t/c.jsonl"]);
}
