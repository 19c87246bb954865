//! The real runtime loop on a `TestBackend`: a scripted key stream answers a scripted
//! fake session (one query, then a batch of two, then the end). Waits on the screen
//! and the loop's own completion (with a deadline), never on sleeps.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::StreamExt;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

use alc_workbench::app::{App, AppOptions, Mode, SessionPort, SessionState, StartRequest, Starter};
use alc_workbench::engine::{AnswerOrigin, Metrics, SessionEvent};
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{
    batch, completed, query, started, wait_for_screen, FakeCall, ScriptedSession, WatchedBackend,
};
use alc_workbench::theme::Theme;

fn chars(text: &str) -> Vec<io::Result<Event>> {
    text.chars()
        .map(|c| {
            Ok(Event::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )))
        })
        .collect()
}

fn chord(code: KeyCode, mods: KeyModifiers) -> Vec<io::Result<Event>> {
    vec![Ok(Event::Key(KeyEvent::new(code, mods)))]
}

#[tokio::test]
async fn keys_answer_a_scripted_session_through_the_real_loop() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cot.lua");
    std::fs::write(
        &script,
        "local a = alc.llm('Why?')\nlocal b = alc.llm_batch({'x', 'y'})\nreturn {a = a}\n",
    )
    .unwrap();
    let file = script.display().to_string();

    let steps = vec![
        vec![
            started(&file, json!({})),
            SessionEvent::Paused {
                pause: 1,
                queries: vec![query("q-1", "Why is the sky blue?", &file, 1)],
            },
        ],
        vec![SessionEvent::Paused {
            pause: 2,
            queries: batch(vec![
                query("q-2", "x", &file, 2),
                query("q-3", "y", &file, 2),
            ]),
        }],
        vec![completed(json!({"a": "Rayleigh"}), Metrics::default())],
    ];
    let session: Arc<Mutex<Option<Arc<ScriptedSession>>>> = Arc::default();
    let requests: Arc<Mutex<Vec<StartRequest>>> = Arc::default();
    let starter: Starter = {
        let session = session.clone();
        let requests = requests.clone();
        Box::new(move |req: &StartRequest| {
            requests.lock().unwrap().push(req.clone());
            let (s, rx) = ScriptedSession::start(steps.clone());
            *session.lock().unwrap() = Some(s.clone());
            Ok((s as Arc<dyn SessionPort>, rx))
        })
    };

    // Answers reach the session off the loop task, so each group of keys waits until
    // the screen shows the query it is for.
    let (backend, mut frames) = WatchedBackend::new(100, 30);
    let (key_tx, mut key_rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let send = |events: Vec<io::Result<Event>>| {
            for e in events {
                let _ = key_tx.send(e);
            }
        };
        wait_for_screen(&mut frames, |s| s.contains("Pending q-1 ")).await;
        send(chars("Rayleigh"));
        send(chord(KeyCode::Char('s'), KeyModifiers::CONTROL)); // q-1
        wait_for_screen(&mut frames, |s| s.contains("Pending q-2 ")).await;
        send(chars("first"));
        send(chord(KeyCode::Char('n'), KeyModifiers::CONTROL)); // next: q-3
        send(chars("second"));
        send(chord(KeyCode::Enter, KeyModifiers::ALT)); // q-3, then q-2 is shown
        send(chord(KeyCode::Char('s'), KeyModifiers::CONTROL)); // q-2
        wait_for_screen(&mut frames, |s| s.contains(" finished ")).await;
        send(chord(KeyCode::Esc, KeyModifiers::NONE)); // close the result
        send(chars("q"));
    });
    let keys = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));

    let (mut app, initial) = App::new(AppOptions {
        script: Some(file.clone()),
        ctx: json!({"budget": {"max_llm_calls": 5}}),
        autostart: true,
        transcript: Some("/tmp/t.jsonl".into()),
        ..Default::default()
    });
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(LoopEnv {
        starter,
        answer_source: None,
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(&mut terminal, keys, &mut app, initial),
    )
    .await
    .expect("the loop ends when q is pressed")
    .unwrap();
    driver.await.unwrap();

    assert!(app.quitting);
    assert_eq!(app.state(), SessionState::Finished);
    assert_eq!(
        app.session.outcome.as_ref().unwrap().result,
        Some(json!({"a": "Rayleigh"}))
    );
    assert_eq!(
        app.budget.metrics.llm_calls, 0,
        "final metrics come from the engine"
    );
    let req = requests.lock().unwrap().clone();
    assert_eq!(req.len(), 1);
    assert_eq!(req[0].ctx, json!({"budget": {"max_llm_calls": 5}}));
    assert_eq!(
        req[0].transcript.as_deref(),
        Some(std::path::Path::new("/tmp/t.jsonl"))
    );

    let calls = session.lock().unwrap().as_ref().unwrap().calls();
    let answers: Vec<(String, String)> = calls
        .iter()
        .map(|c| match c {
            FakeCall::Answer(id, a) => {
                assert_eq!(a.source, AnswerOrigin::Human);
                (id.clone(), a.text.clone())
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            ("q-1".to_string(), "Rayleigh".to_string()),
            // A batch's answers are held until its last one, then go in the order
            // asked, whichever was typed first.
            ("q-2".to_string(), "first".to_string()),
            ("q-3".to_string(), "second".to_string()),
        ]
    );
    // Every event reached the trace: started, 3 pauses' queries, 3 answers, 2 resumes, end.
    assert_eq!(app.trace.total(), 10);
}

#[tokio::test]
async fn a_start_failure_is_shown_and_input_end_stops_the_loop() {
    let starter: Starter = Box::new(|_req: &StartRequest| Err("no such package: nope".to_string()));
    let (mut app, initial) = App::new(AppOptions {
        script: Some("nope".into()),
        autostart: true,
        ..Default::default()
    });
    let mut terminal = Terminal::new(TestBackend::new(20, 6)).unwrap();
    let mut event_loop = EventLoop::new(LoopEnv {
        starter,
        answer_source: None,
        theme: Theme::monochrome(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    // One no-op key keeps the loop turning until the start failure is processed.
    let keys = chars("x");
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(
            &mut terminal,
            futures_util::stream::iter(keys),
            &mut app,
            initial,
        ),
    )
    .await
    .expect("input end stops the loop")
    .unwrap();
    assert_eq!(app.state(), SessionState::Idle);
    assert!(app.message.as_deref().unwrap().contains("no such package"));
}

/// Answers every query from a canned list, as an answers file would.
struct CannedSource;

impl alc_workbench::answer::AnswerSource for CannedSource {
    fn name(&self) -> &str {
        "answers file"
    }

    fn answer<'a>(
        &'a self,
        query: &alc_workbench::engine::Query,
    ) -> alc_workbench::answer::AnswerFuture<'a> {
        let text = format!("canned for {}", query.id);
        Box::pin(async move {
            Ok(alc_workbench::engine::Answer::new(
                text,
                AnswerOrigin::Script,
            ))
        })
    }
}

#[tokio::test]
async fn an_answer_source_answers_through_the_loop() {
    let steps = vec![
        vec![
            started("s.lua", json!({})),
            SessionEvent::Paused {
                pause: 1,
                queries: batch(vec![
                    query("q-1", "a", "s.lua", 1),
                    query("q-2", "b", "s.lua", 1),
                ]),
            },
        ],
        vec![completed(json!(1), Metrics::default())],
    ];
    let (session, events) = ScriptedSession::start(steps);
    let port = session.clone();
    let slot = Mutex::new(Some(events));
    let starter: Starter = Box::new(move |_req: &StartRequest| {
        let events = slot.lock().unwrap().take().ok_or("started twice")?;
        Ok((port.clone() as Arc<dyn SessionPort>, events))
    });
    // Keys only after the session ended: close the result, then quit.
    let gate = session.clone();
    let keys = futures_util::stream::once(async move {
        gate.ended().await;
        futures_util::stream::iter(chars("qq"))
    })
    .flatten();
    let (mut app, initial) = App::new(AppOptions {
        script: Some("s.lua".into()),
        autostart: true,
        answer_source: Some("answers file".into()),
        // What `prepare` picks for an answers file given without a mode.
        mode: Mode::Auto,
        ..Default::default()
    });
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut event_loop = EventLoop::new(LoopEnv {
        starter,
        answer_source: Some(Arc::new(CannedSource)),
        theme: Theme::built_in("light").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    });
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(&mut terminal, Box::pin(keys), &mut app, initial),
    )
    .await
    .expect("the loop ends")
    .unwrap();
    assert_eq!(app.state(), SessionState::Finished);
    let calls = session.calls();
    assert_eq!(calls.len(), 2);
    for (call, id) in calls.iter().zip(["q-1", "q-2"]) {
        assert!(
            matches!(call, FakeCall::Answer(i, a) if i == id && a.text == format!("canned for {id}") && a.source == AnswerOrigin::Script),
            "{call:?}"
        );
    }
}
