//! The real loop with the real engine, time travel by keys: a run answered by hand,
//! then (1) the script edited on disk and `R` replaying its answers up to the first
//! changed prompt, or (2) `w` on a query in the Trace pane re-running with that query
//! waiting for the person (old answer as the draft) and the answers after it replayed;
//! then `D` compares the new run with its parent. The test waits on frames, never on
//! sleeps.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use alc_workbench::app::{App, AppOptions, SessionPort, StartRequest, Starter};
use alc_workbench::engine::Session;
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{wait_for_screen, WatchedBackend};
use alc_workbench::theme::Theme;

const STRATEGY: &str = "local a = alc.llm('one?')\nlocal b = alc.llm('two?')\n\
                        local c = alc.llm('three?')\nreturn a .. '+' .. b .. '+' .. c";

type Keys = UnboundedSender<io::Result<Event>>;

fn press(keys: &Keys, code: KeyCode, mods: KeyModifiers) {
    let _ = keys.send(Ok(Event::Key(KeyEvent::new(code, mods))));
}

fn type_text(keys: &Keys, text: &str) {
    for c in text.chars() {
        press(keys, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn send(keys: &Keys, text: &str) {
    type_text(keys, text);
    press(keys, KeyCode::Char('s'), KeyModifiers::CONTROL);
}

async fn screen_with(frames: &mut UnboundedReceiver<String>, wanted: &str) -> String {
    match wait_for_screen(frames, |s| s.contains(wanted)).await {
        Some(screen) => screen,
        None => panic!("the loop ended before the screen showed {wanted:?}"),
    }
}

/// Starts each run as the workbench does (a replayed run on a scratch copy of its
/// recorded state, with its lineage), recording to `dir/runN.jsonl`.
fn starter(dir: PathBuf) -> Starter {
    let runs = AtomicUsize::new(0);
    let scratches = std::sync::Mutex::new(Vec::new());
    Box::new(move |req: &StartRequest| {
        let (mut config, scratch) = alc_workbench::cli::tui::session_config(req)?;
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        config.transcript = Some(dir.join(format!("run{n}.jsonl")));
        match &scratch {
            // A replayed run runs on its scratch copy of the recorded state.
            Some(s) => assert_eq!(config.state_dir.as_deref(), Some(s.path())),
            None => config.state_dir = Some(dir.join("state")),
        }
        let (session, events) = Session::start(config).map_err(|e| e.to_string())?;
        // Kept (dropping one removes its directory) until the loop drops the starter.
        scratches.lock().unwrap().push(scratch);
        Ok((Arc::new(session) as Arc<dyn SessionPort>, events))
    })
}

/// Runs the loop on `dir/s.lua` until `q`; returns the model.
async fn run_loop(
    dir: &Path,
    backend: WatchedBackend,
    keys: UnboundedReceiver<io::Result<Event>>,
) -> App {
    let script = dir.join("s.lua");
    let (mut app, initial) = App::new(AppOptions {
        script: Some(script.display().to_string()),
        ctx: json!({}),
        autostart: true,
        ..Default::default()
    });
    let mut event_loop = EventLoop::new(LoopEnv {
        starter: starter(dir.to_path_buf()),
        answer_source: None,
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    let mut terminal = Terminal::new(backend).unwrap();
    let mut keys = keys;
    let input = futures_util::stream::poll_fn(move |cx| keys.poll_recv(cx));
    tokio::time::timeout(
        Duration::from_secs(60),
        event_loop.run(&mut terminal, input, &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    app
}

/// The transcript's lines as JSON.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (id, text, source) of every answer.
fn answers(lines: &[Value]) -> Vec<(String, String, String)> {
    lines
        .iter()
        .filter(|l| l["event"] == "answer")
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("text"), s("source"))
        })
        .collect()
}

fn triple(id: &str, text: &str, source: &str) -> (String, String, String) {
    (id.into(), text.into(), source.into())
}

/// The first run: q-1..q-3 answered A, B, C by keys; the result overlay closed.
async fn first_run(keys: &Keys, frames: &mut UnboundedReceiver<String>) {
    for (id, text) in [("q-1", "A"), ("q-2", "B"), ("q-3", "C")] {
        screen_with(frames, &format!("Pending {id} ")).await;
        send(keys, text);
    }
    screen_with(frames, " finished ").await;
    press(keys, KeyCode::Esc, KeyModifiers::NONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_the_script_then_r_replays_to_the_first_changed_prompt() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.lua"), STRATEGY).unwrap();
    let (backend, mut frames) = WatchedBackend::new(150, 36);
    let (keys, key_rx) = unbounded_channel();
    let script = dir.path().join("s.lua");
    let driver = tokio::spawn(async move {
        first_run(&keys, &mut frames).await;
        // Edit the Lua: the second prompt changes.
        std::fs::write(&script, STRATEGY.replace("two?", "two, reworded?")).unwrap();
        screen_with(
            &mut frames,
            "script changed on disk · R replays to the first changed prompt",
        )
        .await;
        type_text(&keys, "R");
        let at_change = screen_with(&mut frames, "replay ended at q-2: prompt changed").await;
        assert!(at_change.contains("Pending q-2 "), "{at_change}");
        assert!(at_change.contains("two, reworded?"), "{at_change}");
        send(&keys, "B2");
        // Later queries go to the current mode (manual): q-3 is the person's.
        screen_with(&mut frames, "Pending q-3 ").await;
        send(&keys, "C");
        screen_with(&mut frames, " finished ").await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        // D: this run against the transcript it replayed.
        type_text(&keys, "D");
        let diff = screen_with(&mut frames, "Diff · run1.jsonl → run2.jsonl").await;
        assert!(
            diff.contains("2 same · 1 prompt changed · result changed"),
            "{diff}"
        );
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });
    let app = run_loop(dir.path(), backend, key_rx).await;
    driver.await.unwrap();

    assert_eq!(
        app.replay.label().as_deref(),
        Some("replay ended at q-2: prompt changed")
    );
    let run2 = lines(&dir.path().join("run2.jsonl"));
    let of = &run2[0]["replay_of"];
    assert_eq!(
        of["path"],
        json!(dir.path().join("run1.jsonl").display().to_string())
    );
    assert_eq!(
        answers(&run2),
        vec![
            triple("q-1", "A", "replay"),
            triple("q-2", "B2", "human"),
            triple("q-3", "C", "human"),
        ]
    );
    let end = run2.last().unwrap();
    assert_eq!(end["result"], json!("A+B2+C"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_if_in_the_trace_re_answers_one_query_and_replays_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.lua"), STRATEGY).unwrap();
    let (backend, mut frames) = WatchedBackend::new(150, 36);
    let (keys, key_rx) = unbounded_channel();
    let driver = tokio::spawn(async move {
        first_run(&keys, &mut frames).await;
        // Focus the Trace pane (from Pending) and find q-2's query by its prompt.
        press(&keys, KeyCode::Tab, KeyModifiers::NONE);
        type_text(&keys, "/");
        screen_with(&mut frames, "Search").await;
        type_text(&keys, "two?");
        press(&keys, KeyCode::Enter, KeyModifiers::NONE);
        type_text(&keys, "w");
        let held = screen_with(&mut frames, "the recorded answer is the draft").await;
        assert!(held.contains("Pending q-2 "), "{held}");
        assert!(held.contains("replaying 1/2"), "{held}");
        send(&keys, "X"); // typed before the draft: "XB"
        screen_with(&mut frames, " finished ").await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "D");
        let diff = screen_with(&mut frames, "Diff · run1.jsonl → run2.jsonl").await;
        assert!(
            diff.contains("2 same · 1 answer changed · result changed"),
            "{diff}"
        );
        // enter on q-2 shows its texts.
        press(&keys, KeyCode::Down, KeyModifiers::NONE);
        press(&keys, KeyCode::Enter, KeyModifiers::NONE);
        let texts = screen_with(&mut frames, "+XB").await;
        assert!(texts.contains("-B"), "{texts}");
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });
    let app = run_loop(dir.path(), backend, key_rx).await;
    driver.await.unwrap();

    assert_eq!(app.replay.label().as_deref(), Some("replay complete"));
    let run2 = lines(&dir.path().join("run2.jsonl"));
    let session = &run2[0];
    let run1 = dir.path().join("run1.jsonl").display().to_string();
    assert_eq!(session["parent"]["path"], json!(run1));
    assert_eq!(session["branch_at"], json!("q-2"));
    assert!(session.get("replay_of").is_none(), "{session}");
    assert_eq!(
        answers(&run2),
        vec![
            triple("q-1", "A", "replay"),
            triple("q-2", "XB", "human"),
            triple("q-3", "C", "replay"),
        ]
    );
    assert_eq!(run2.last().unwrap()["result"], json!("A+XB+C"));
}
