//! TUI benchmarks (not timed tests): frame render time at 200x50 with a 100k-event
//! trace and a 5,000-line highlighted source, and keystroke-to-frame latency through
//! `update` + draw. Prints medians. Run with `cargo bench --bench tui`.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::{update, App, AppOptions, Focus, Msg};
use alc_workbench::engine::{Answer, AnswerOrigin, LogLevel, SessionEvent, Stamped};
use alc_workbench::highlight::highlight_lua;
use alc_workbench::testkit::{query, started};
use alc_workbench::theme::Theme;
use alc_workbench::ui::{draw, View};

const FILE: &str = "bench.lua";
const EVENTS: u64 = 100_000;
const SOURCE_LINES: usize = 5_000;
const FRAMES: usize = 200;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn source() -> String {
    (0..SOURCE_LINES)
        .map(|i| match i % 5 {
            0 => format!("local v{i} = alc.llm(\"prompt number {i}\", {{ max_tokens = 100 }})"),
            1 => format!(
                "if v{} ~= nil then alc.log(\"info\", \"got \" .. tostring(v{})) end",
                i - 1,
                i - 1
            ),
            2 => format!("-- step {i}: keep going with a comment that is long enough to clip"),
            3 => format!("for k = 1, {i} do total = total + k * 2 end"),
            _ => "return_value = { ok = true, n = #chain }".to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn at(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 7,
        event,
        metrics: Default::default(),
    })
}

/// A session with 100k trace events, paused on a query near the end of the source.
fn big_app() -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({"budget": {"max_llm_calls": 100000, "max_tokens": 10000000}}),
        autostart: true,
        size: (200, 50),
        ..Default::default()
    });
    let t = Instant::now();
    let lines = highlight_lua(&source(), Some("base16-ocean.dark"));
    println!("highlight {SOURCE_LINES} lines once: {:?}", t.elapsed());
    update(
        &mut app,
        Msg::SourceLoaded {
            file: FILE.into(),
            lines,
        },
    );
    let t = Instant::now();
    update(&mut app, at(1, started(FILE, json!({}))));
    let mut seq = 1;
    let mut n = 0u64;
    while seq < EVENTS - 1 {
        n += 1;
        let id = format!("q-{n}");
        seq += 1;
        update(
            &mut app,
            at(
                seq,
                SessionEvent::Paused {
                    pause: n,
                    queries: vec![query(
                        &id,
                        &format!("Question {n}: what comes next in the chain?"),
                        FILE,
                        (n % 5000) as u32 + 1,
                    )],
                },
            ),
        );
        seq += 1;
        update(
            &mut app,
            at(
                seq,
                SessionEvent::Answered {
                    id,
                    answer: Answer::new(
                        format!("answer {n}, with some words"),
                        AnswerOrigin::Script,
                    ),
                },
            ),
        );
        seq += 1;
        update(
            &mut app,
            at(
                seq,
                SessionEvent::Log {
                    level: LogLevel::Info,
                    msg: format!("step {n} done"),
                },
            ),
        );
    }
    seq += 1;
    update(
        &mut app,
        at(
            seq,
            SessionEvent::Paused {
                pause: n + 1,
                queries: vec![query(
                    "q-last",
                    "The final question, waiting for a person.",
                    FILE,
                    4_321,
                )],
            },
        ),
    );
    println!(
        "feed {} events through update: {:?}",
        app.trace.total(),
        t.elapsed()
    );
    let text: usize = (0..app.trace.len())
        .filter_map(|i| app.trace.get(i))
        .map(|e| e.head.len() + e.body.len())
        .sum();
    let structs = app.trace.total() * std::mem::size_of::<alc_workbench::app::trace::TraceEntry>();
    println!(
        "trace memory: {:.1} MB ({} B entries + {} B text)",
        (structs + text) as f64 / 1e6,
        structs,
        text
    );
    app
}

fn frames(label: &str, app: &App, terminal: &mut Terminal<TestBackend>, theme: &Theme) {
    let mut samples = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        // Force a full repaint each time so the diff does not hide the cost.
        terminal.clear().unwrap();
        let t = Instant::now();
        terminal.draw(|f| draw(f, &View::new(app, theme))).unwrap();
        samples.push(t.elapsed());
    }
    println!("frame 200x50 {label}: median {:?}", median(samples));
}

fn main() {
    let theme = Theme::built_in("dark").unwrap();
    let mut app = big_app();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    assert_eq!(app.focus, Focus::Pending);

    frames(
        "(100k-event trace following, 5k-line source)",
        &app,
        &mut terminal,
        &theme,
    );
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
    );
    for _ in 0..500 {
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE)),
        );
    }
    frames(
        "(trace scrolled to the middle)",
        &app,
        &mut terminal,
        &theme,
    );
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE)),
    );
    frames("(trace filtered to llm)", &app, &mut terminal, &theme);
    let t = Instant::now();
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE)),
    );
    println!("re-filter 100k events: {:?}", t.elapsed());

    // Keystroke to frame: type into the answer editor, draw after each key.
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    assert!(app.editing());
    let mut samples = Vec::new();
    for i in 0..FRAMES {
        let c = (b'a' + (i % 26) as u8) as char;
        let t = Instant::now();
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
        terminal
            .draw(|f| draw(f, &View::new(&app, &theme)))
            .unwrap();
        samples.push(t.elapsed());
    }
    println!(
        "keystroke to frame (update + draw, diffed): median {:?}",
        median(samples)
    );
}
