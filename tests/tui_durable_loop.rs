//! The real loop with the real engine when the transcript fails ([`FlakySink`]): the
//! typed answer is refused, the question appears, and each choice made by keys carries
//! the session on. Answers go to the session off the loop task (the loop keeps
//! drawing); the test waits on frames, never on sleeps.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use alc_workbench::app::{App, AppOptions, SessionPort, SessionState, StartRequest, Starter};
use alc_workbench::engine::transcript;
use alc_workbench::engine::{ScriptSpec, Session, SessionConfig, Status};
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{wait_for_screen, Fault, FlakySink, WatchedBackend};
use alc_workbench::theme::Theme;

const STRATEGY: &str = "local a = alc.llm('one?')\nlocal b = alc.llm('two?')\nreturn a .. '+' .. b";

type Keys = UnboundedSender<io::Result<Event>>;

fn press(keys: &Keys, code: KeyCode, mods: KeyModifiers) {
    let _ = keys.send(Ok(Event::Key(KeyEvent::new(code, mods))));
}

fn type_text(keys: &Keys, text: &str) {
    for c in text.chars() {
        press(keys, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

async fn screen_with(
    frames: &mut UnboundedReceiver<String>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    match wait_for_screen(frames, wanted).await {
        Some(screen) => screen,
        None => panic!("the loop ended before the screen showed what the test waits for"),
    }
}

/// Starts the strategy recording into `sink` (named /x/t.jsonl).
fn starter(script: PathBuf, sink: FlakySink) -> Starter {
    Box::new(move |req: &StartRequest| {
        let mut cfg = SessionConfig::new(ScriptSpec::File(script.clone()));
        cfg.ctx = req.ctx.clone();
        cfg.seed = Some(1);
        let writer = sink.writer(Path::new("/x/t.jsonl"));
        let (session, events) =
            Session::start_with_transcript(cfg, writer).map_err(|e| e.to_string())?;
        Ok((Arc::new(session) as Arc<dyn SessionPort>, events))
    })
}

/// Runs the loop until `q`; returns the model.
async fn run_loop(
    dir: &Path,
    sink: &FlakySink,
    backend: WatchedBackend,
    keys: UnboundedReceiver<io::Result<Event>>,
) -> App {
    let script = dir.join("s.lua");
    std::fs::write(&script, STRATEGY).unwrap();
    let (mut app, initial) = App::new(AppOptions {
        script: Some(script.display().to_string()),
        ctx: json!({}),
        autostart: true,
        recovery_dir: Some(dir.join("recovered")),
        ..Default::default()
    });
    let mut event_loop = EventLoop::new(LoopEnv {
        starter: starter(script, sink.clone()),
        answer_source: None,
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    let mut terminal = Terminal::new(backend).unwrap();
    let mut keys = keys;
    let input = futures_util::stream::poll_fn(move |cx| keys.poll_recv(cx));
    tokio::time::timeout(
        Duration::from_secs(30),
        event_loop.run(&mut terminal, input, &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    app
}

fn kinds(text: &str) -> Vec<String> {
    transcript::parse(text, Path::new("t.jsonl"))
        .unwrap()
        .into_iter()
        .map(|l| l.kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_then_record_elsewhere_by_keys() {
    let dir = tempfile::tempdir().unwrap();
    let sink = FlakySink::new();
    let (backend, mut frames) = WatchedBackend::new(100, 30);
    let (keys, key_rx) = unbounded_channel();
    let driver_sink = sink.clone();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| s.contains("Pending q-1 ")).await;
        driver_sink.break_with(Fault::DiskFull { keep: 7 });
        type_text(&keys, "first");
        press(&keys, KeyCode::Char('s'), KeyModifiers::CONTROL);
        let asked = screen_with(&mut frames, |s| s.contains("Answer not recorded")).await;
        assert!(asked.contains("No space left on device"), "{asked}");
        assert!(
            !asked.contains("Pending q-2"),
            "the strategy went on:\n{asked}"
        );

        // The disk has room again: retry goes through.
        driver_sink.heal();
        type_text(&keys, "r");
        screen_with(&mut frames, |s| s.contains("Pending q-2 ")).await;

        // Second answer: record elsewhere, at the suggested path.
        driver_sink.break_with(Fault::SyncFails);
        type_text(&keys, "second");
        press(&keys, KeyCode::Char('s'), KeyModifiers::CONTROL);
        screen_with(&mut frames, |s| s.contains("Answer not recorded")).await;
        type_text(&keys, "w");
        screen_with(&mut frames, |s| {
            s.contains("Write the transcript elsewhere")
        })
        .await;
        press(&keys, KeyCode::Enter, KeyModifiers::NONE);
        screen_with(&mut frames, |s| s.contains(" finished ")).await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });
    let app = run_loop(dir.path(), &sink, backend, key_rx).await;
    driver.await.unwrap();

    assert_eq!(app.state(), SessionState::Finished);
    let outcome = app.session.outcome.as_ref().unwrap();
    assert_eq!(outcome.status, Status::Completed);
    assert_eq!(outcome.result, Some(json!("first+second")));
    let moved = dir.path().join("recovered").join("t-recovered.jsonl");
    let text = std::fs::read_to_string(&moved).expect("the transcript moved there");
    assert_eq!(
        kinds(&text),
        ["session", "query", "answer", "resumed", "query", "log", "answer", "resumed", "end"]
    );
    assert!(
        !sink.text().contains("second"),
        "the old file never got the refused answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_on_unrecorded_by_keys() {
    let dir = tempfile::tempdir().unwrap();
    let sink = FlakySink::new();
    let (backend, mut frames) = WatchedBackend::new(100, 30);
    let (keys, key_rx) = unbounded_channel();
    let driver_sink = sink.clone();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| s.contains("Pending q-1 ")).await;
        driver_sink.break_with(Fault::DiskFull { keep: 0 });
        type_text(&keys, "first");
        press(&keys, KeyCode::Char('s'), KeyModifiers::CONTROL);
        screen_with(&mut frames, |s| s.contains("Answer not recorded")).await;
        type_text(&keys, "u");
        let next = screen_with(&mut frames, |s| s.contains("Pending q-2 ")).await;
        assert!(next.contains("not recording"), "{next}");
        type_text(&keys, "second");
        press(&keys, KeyCode::Char('s'), KeyModifiers::CONTROL);
        screen_with(&mut frames, |s| s.contains(" finished ")).await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });
    let app = run_loop(dir.path(), &sink, backend, key_rx).await;
    driver.await.unwrap();

    let outcome = app.session.outcome.as_ref().unwrap();
    assert_eq!(outcome.result, Some(json!("first+second")));
    assert!(app.session.recording_stopped);
    assert!(!sink.text().contains("\"answer\""));
}
