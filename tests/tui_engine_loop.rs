//! The real loop with the real engine: `demo/cot.lua` answered by scripted keys, end
//! to end. Keys for each query are sent only after the engine has paused on it (the
//! event is forwarded to the loop first, and the loop takes session events before
//! keys), so the test waits on events, never on sleeps.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;
use tokio::sync::mpsc::unbounded_channel;

use alc_workbench::app::{App, AppOptions, SessionPort, SessionState, StartRequest, Starter};
use alc_workbench::engine::{ScriptSpec, Session, SessionConfig, SessionEvent, Status};
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::theme::Theme;

fn key(code: KeyCode, mods: KeyModifiers) -> io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(code, mods)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_strategy_answered_by_keys_through_the_real_loop() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.jsonl");
    let (paused_tx, mut paused_rx) = unbounded_channel::<String>();
    let starter: Starter = Box::new(move |req: &StartRequest| {
        let mut cfg = SessionConfig::new(ScriptSpec::parse(&req.script));
        cfg.ctx = req.ctx.clone();
        cfg.transcript = req.transcript.clone();
        cfg.seed = Some(1);
        let (session, mut events) = Session::start(cfg).map_err(|e| e.to_string())?;
        let (tx, rx) = unbounded_channel();
        let paused_tx = paused_tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                let paused = match &ev.event {
                    SessionEvent::Paused { queries, .. } => Some(queries[0].id.clone()),
                    SessionEvent::Finished(_) => Some("end".to_string()),
                    _ => None,
                };
                if tx.send(ev).is_err() {
                    break;
                }
                if let Some(id) = paused {
                    let _ = paused_tx.send(id);
                }
            }
        });
        Ok((Arc::new(session) as Arc<dyn SessionPort>, rx))
    });

    // Feed keys: one answer per pause, then close the result and quit.
    let (key_tx, mut key_rx) = unbounded_channel::<io::Result<Event>>();
    tokio::spawn(async move {
        for n in 1..=4 {
            let id = paused_rx.recv().await.expect("the demo pauses four times");
            assert_eq!(id, format!("q-{n}"));
            for c in format!("answer {n}").chars() {
                let _ = key_tx.send(key(KeyCode::Char(c), KeyModifiers::NONE));
            }
            let _ = key_tx.send(key(KeyCode::Char('s'), KeyModifiers::CONTROL));
        }
        // Once the session has ended (the loop has it before these keys), the result
        // view is open: close it and quit.
        assert_eq!(paused_rx.recv().await.as_deref(), Some("end"));
        let _ = key_tx.send(key(KeyCode::Esc, KeyModifiers::NONE));
        let _ = key_tx.send(key(KeyCode::Char('q'), KeyModifiers::NONE));
    });
    let keys = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));

    let (mut app, initial) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        ctx: json!({"budget": {"max_llm_calls": 10}}),
        autostart: true,
        transcript: Some(transcript.clone()),
        ..Default::default()
    });
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut event_loop = EventLoop::new(LoopEnv {
        starter,
        answer_source: None,
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        event_loop.run(&mut terminal, keys, &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();

    assert_eq!(app.state(), SessionState::Finished);
    let outcome = app.session.outcome.as_ref().unwrap();
    assert_eq!(outcome.status, Status::Completed);
    let result = outcome.result.as_ref().unwrap();
    assert_eq!(result["answer"], json!("answer 4"));
    assert_eq!(result["chain"], json!(["answer 1", "answer 2", "answer 3"]));
    assert_eq!(outcome.metrics.llm_calls, 4);
    assert!(outcome.metrics.human_ms > 0 || outcome.metrics.llm_calls == 4);

    // The transcript recorded every typed answer as the person's.
    let text = std::fs::read_to_string(&transcript).unwrap();
    let answers: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "answer")
        .collect();
    assert_eq!(answers.len(), 4);
    assert!(answers.iter().all(|a| a["source"] == "human"));
    assert_eq!(answers[2]["text"], "answer 3");
}
