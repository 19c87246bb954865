//! TUI benchmarks (not timed tests): frame render time at 200x50 with a 100k-event
//! trace and a 5,000-line highlighted source, and keystroke-to-frame latency through
//! `update` + draw; then the same with a 10 MB prompt (many lines, or one line) and
//! with a 10 MB answer (shown read-only; and in the editor anyway, after ctrl-e), the
//! largest answer the editor keeps, and what an idle tick costs. Prints
//! medians. Run with `cargo bench --bench tui`; `cargo bench --bench tui -- big` runs
//! only the cases whose name contains `big` (`trace`, `big_prompt`, `big_draft`).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::large::LARGE_ANSWER_BYTES;
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
    println!("  frame 200x50 {label}: median {:?}", median(samples));
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument picks cases by name.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |case: &str| filter.as_deref().is_none_or(|f| case.contains(f));
    if wanted("trace") {
        trace_cases();
    }
    if wanted("big_prompt") {
        big_prompt_cases();
    }
    if wanted("big_draft") {
        big_draft_cases();
    }
}

fn trace_cases() {
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

/// About 10 MB of text: lines of about 100 columns, or one line.
fn ten_mb(one_line: bool) -> String {
    let sentence = "The quick brown fox jumps over the lazy dog while the model thinks aloud. ";
    if one_line {
        return sentence.repeat(10_000_000 / sentence.len());
    }
    // 100-byte lines (with the newline): a number and words.
    let words = sentence.repeat(2);
    (0..100_000)
        .map(|i| format!("{i:>6} {}", &words[..92]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A manual session waiting on one query whose prompt is `prompt`; prints how long
/// the pause took to take in (the prompt is wrapped there, once).
fn waiting_on(prompt: &str) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some(FILE.into()),
        ctx: json!({}),
        autostart: true,
        size: (200, 50),
        ..Default::default()
    });
    update(&mut app, at(1, started(FILE, json!({}))));
    let t = Instant::now();
    update(
        &mut app,
        at(
            2,
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", prompt, FILE, 1)],
            },
        ),
    );
    println!("  take in the pause (wrap once): {:?}", t.elapsed());
    app
}

/// Median time from a key to its frame (update + diffed draw), over `n` keys typing
/// letters.
fn keystrokes(
    app: &mut App,
    terminal: &mut Terminal<TestBackend>,
    theme: &Theme,
    n: usize,
) -> Duration {
    keys_to_frame(app, terminal, theme, n, |i| {
        let c = (b'a' + (i % 26) as u8) as char;
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    })
}

/// Median time from a key to its frame (update + diffed draw), over `n` keys made by
/// `key` from their index.
fn keys_to_frame(
    app: &mut App,
    terminal: &mut Terminal<TestBackend>,
    theme: &Theme,
    n: usize,
    key: impl Fn(usize) -> KeyEvent,
) -> Duration {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        update(app, Msg::Key(key(i)));
        terminal.draw(|f| draw(f, &View::new(app, theme))).unwrap();
        samples.push(t.elapsed());
    }
    median(samples)
}

/// Median cost of one idle tick (4 a second while a session waits): update + draw.
fn idle_tick(app: &mut App, terminal: &mut Terminal<TestBackend>, theme: &Theme) -> Duration {
    let mut samples = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let t = Instant::now();
        update(
            app,
            Msg::Tick {
                now_ms: 1_000 + i as u64 * 250,
                // As the loop sends it: the engine's figures with every tick.
                metrics: Some(Default::default()),
            },
        );
        terminal.draw(|f| draw(f, &View::new(app, theme))).unwrap();
        samples.push(t.elapsed());
    }
    median(samples)
}

fn big_prompt_cases() {
    let theme = Theme::built_in("dark").unwrap();
    for (label, one_line) in [("many lines", false), ("one line", true)] {
        let prompt = ten_mb(one_line);
        println!(
            "big_prompt: {:.1} MB prompt, {label}",
            prompt.len() as f64 / 1e6
        );
        let mut app = waiting_on(&prompt);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        frames("big_prompt at its start", &app, &mut terminal, &theme);
        // To the end, as the wheel (or End, when not typing) takes it.
        app.pending.prompt_scroll = usize::MAX / 2;
        let layout = app.layout().unwrap();
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: layout.pending.x + 2,
            row: layout.pending.y + 2,
            modifiers: KeyModifiers::NONE,
        };
        let t = Instant::now();
        update(&mut app, Msg::Mouse(wheel));
        println!("  scroll to the end (update): {:?}", t.elapsed());
        frames("big_prompt at its end", &app, &mut terminal, &theme);
        let key = keystrokes(&mut app, &mut terminal, &theme, FRAMES);
        println!("  keystroke to frame (update + draw, diffed): median {key:?}");
        let tick = idle_tick(&mut app, &mut terminal, &theme);
        println!("  idle tick (update + draw, diffed): median {tick:?}, x4 a second");
    }
}

/// A 10 MB answer (a huge paste, or a review draft: the same read-only view) and the
/// largest answer the editor keeps (`LARGE_ANSWER_BYTES`).
fn big_draft_cases() {
    let theme = Theme::built_in("dark").unwrap();
    for (label, one_line) in [("many lines", false), ("one line", true)] {
        let draft = ten_mb(one_line);
        println!(
            "big_draft: {:.1} MB pasted as the answer, {label}",
            draft.len() as f64 / 1e6
        );
        let mut app = waiting_on("Write it all out.");
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        let paste = Msg::Paste(draft.clone());
        let t = Instant::now();
        update(&mut app, paste);
        terminal
            .draw(|f| draw(f, &View::new(&app, &theme)))
            .unwrap();
        println!(
            "  paste (update, wrap once, first frame): {:?}",
            t.elapsed()
        );
        assert!(app.pending.current().unwrap().large.is_some());
        frames("big_draft read-only", &app, &mut terminal, &theme);
        let key = keystrokes(&mut app, &mut terminal, &theme, FRAMES);
        println!("  keystroke to frame, a letter (read-only: says so): median {key:?}");
        let down = keys_to_frame(&mut app, &mut terminal, &theme, FRAMES, |_| {
            KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)
        });
        println!("  keystroke to frame, down (scrolls a row): median {down:?}");
        let end = keys_to_frame(&mut app, &mut terminal, &theme, FRAMES, |i| {
            let code = if i % 2 == 0 {
                KeyCode::End
            } else {
                KeyCode::Home
            };
            KeyEvent::new(code, KeyModifiers::NONE)
        });
        println!("  keystroke to frame, end / home (to the end and back): median {end:?}");
        let tick = idle_tick(&mut app, &mut terminal, &theme);
        println!("  idle tick (update + draw, diffed): median {tick:?}, x4 a second");
        // ctrl-e: into the editor anyway (said to be slow); few keys, each rewraps it all.
        let t = Instant::now();
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL)),
        );
        terminal
            .draw(|f| draw(f, &View::new(&app, &theme)))
            .unwrap();
        println!("  ctrl-e, into the editor anyway: {:?}", t.elapsed());
        let key = keystrokes(&mut app, &mut terminal, &theme, 5);
        println!("  keystroke to frame in the editor (edit anyway): median {key:?}");
        let text = app.pending.current().unwrap().answer_text();
        assert_eq!(text.len(), draft.len() + 5, "nothing lost");
    }
    for (label, one_line) in [("many lines", false), ("one line", true)] {
        let at_limit = ten_mb(one_line)[..LARGE_ANSWER_BYTES].to_string();
        println!(
            "big_draft: {} KiB (the limit) in the editor, {label}",
            at_limit.len() / 1024
        );
        let mut app = waiting_on("Write it all out.");
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        update(&mut app, Msg::Paste(at_limit));
        assert!(app.pending.current().unwrap().large.is_none());
        let key = keystrokes(&mut app, &mut terminal, &theme, 50);
        println!("  keystroke to frame (update + draw, diffed): median {key:?}");
    }
}
