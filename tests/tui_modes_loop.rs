//! The real loop with a fake provider. Review mode through the real engine: the
//! provider drafts each answer of `demo/cot.lua`, scripted keys accept, edit or reject
//! the drafts, and the strategy and the transcript get what was sent. Auto mode with a
//! held provider: text dripped in streams on screen, a failure comes back to the person.
//! Keys are sent only once a drawn frame shows the state they are meant for (a frame
//! drawn means the model has every message before it), so nothing sleeps.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use alc_workbench::answer::SourceError;
use alc_workbench::app::{App, AppOptions, Mode, SessionPort, SessionState, StartRequest, Starter};
use alc_workbench::engine::{
    AnswerOrigin, Metrics, ScriptSpec, Session, SessionConfig, SessionEvent, Status,
};
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{
    batch, completed, query, started, wait_for_screen, Drip, FakeCall, FakeProvider,
    ScriptedSession, WatchedBackend, FAKE_MODEL,
};
use alc_workbench::theme::Theme;

type Keys = UnboundedSender<io::Result<Event>>;

fn press(keys: &Keys, code: KeyCode, mods: KeyModifiers) {
    let _ = keys.send(Ok(Event::Key(KeyEvent::new(code, mods))));
}

fn type_text(keys: &Keys, text: &str) {
    for c in text.chars() {
        press(keys, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn ctrl(keys: &Keys, c: char) {
    press(keys, KeyCode::Char(c), KeyModifiers::CONTROL);
}

fn key_stream(
    mut rx: UnboundedReceiver<io::Result<Event>>,
) -> impl futures_util::Stream<Item = io::Result<Event>> + Unpin {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Waits for a frame where `wanted` holds; panics (failing the test) if the loop ended.
async fn screen_with(frames: &mut UnboundedReceiver<String>, wanted: impl Fn(&str) -> bool) {
    if wait_for_screen(frames, wanted).await.is_none() {
        panic!("the loop ended before the screen showed what the test waits for");
    }
}

fn env(starter: Starter, source: Arc<FakeProvider>) -> LoopEnv {
    LoopEnv {
        starter,
        answer_source: Some(source),
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    }
}

fn app(
    script: &str,
    mode: Mode,
    transcript: Option<std::path::PathBuf>,
) -> (App, Vec<alc_workbench::app::Effect>) {
    App::new(AppOptions {
        script: Some(script.into()),
        ctx: json!({"budget": {"max_llm_calls": 10}}),
        autostart: true,
        mode,
        answer_source: Some("fake".into()),
        source_is_provider: true,
        transcript,
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_mode_drafts_are_edited_by_keys_through_the_real_engine() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.jsonl");
    let starter: Starter = Box::new(move |req: &StartRequest| {
        let mut cfg = SessionConfig::new(ScriptSpec::parse(&req.script));
        cfg.ctx = req.ctx.clone();
        cfg.transcript = req.transcript.clone();
        cfg.seed = Some(1);
        let (session, events) = Session::start(cfg).map_err(|e| e.to_string())?;
        Ok((Arc::new(session) as Arc<dyn SessionPort>, events))
    });
    let fake = FakeProvider::answering("fake", |q| Ok(vec!["draft ".to_string(), q.id.clone()]));
    let (backend, mut frames) = WatchedBackend::new(120, 40);
    let (keys, key_rx) = unbounded_channel();

    let driver = tokio::spawn(async move {
        for n in 1..=4 {
            let title = format!("Pending q-{n} ");
            screen_with(&mut frames, |s| {
                s.contains(&title) && s.contains("Answer draft ·")
            })
            .await;
            match n {
                1 => {} // accept as it is
                // A draft opens at its start: go to its end, then edit.
                2 => {
                    press(&keys, KeyCode::End, KeyModifiers::NONE);
                    type_text(&keys, " edited");
                }
                3 => {
                    ctrl(&keys, 'r'); // reject, answer by hand
                    type_text(&keys, "by hand");
                }
                _ => {
                    press(&keys, KeyCode::End, KeyModifiers::NONE);
                    type_text(&keys, "!");
                }
            }
            ctrl(&keys, 's');
        }
        screen_with(&mut frames, |s| s.contains(" finished ")).await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });

    let (mut app, initial) = app("demo/cot.lua", Mode::Review, Some(transcript.clone()));
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(env(starter, fake.clone()));
    tokio::time::timeout(
        Duration::from_secs(30),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    driver.await.unwrap();

    assert_eq!(app.state(), SessionState::Finished);
    let outcome = app.session.outcome.as_ref().unwrap();
    assert_eq!(outcome.status, Status::Completed);
    let result = outcome.result.as_ref().unwrap();
    assert_eq!(
        result["chain"],
        json!(["draft q-1", "draft q-2 edited", "by hand"]),
        "the strategy received the accepted, edited and typed answers"
    );
    assert_eq!(result["answer"], json!("draft q-4!"));
    let asked: Vec<String> = fake.asked().into_iter().map(|q| q.id).collect();
    assert_eq!(asked, ["q-1", "q-2", "q-3", "q-4"]);

    let text = std::fs::read_to_string(&transcript).unwrap();
    let answers: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "answer")
        .collect();
    let got: Vec<(&str, &str)> = answers
        .iter()
        .map(|a| (a["text"].as_str().unwrap(), a["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("draft q-1", "provider"),
            ("draft q-2 edited", "provider+edited"),
            ("by hand", "human"),
            ("draft q-4!", "provider+edited"),
        ]
    );
    assert_eq!(answers[1]["model"], FAKE_MODEL);
    assert_eq!(answers[2]["model"], serde_json::Value::Null);
}

#[tokio::test]
async fn auto_mode_streams_and_a_failure_comes_back_to_the_person() {
    let steps = vec![
        vec![
            started("s.lua", json!({})),
            SessionEvent::Paused {
                pause: 1,
                queries: batch(vec![
                    query("q-1", "Why is the sky blue?", "s.lua", 1),
                    query("q-2", "And sunsets?", "s.lua", 1),
                ]),
            },
        ],
        vec![completed(json!("ok"), Metrics::default())],
    ];
    let (session, events) = ScriptedSession::start(steps);
    let port = session.clone();
    let slot = Mutex::new(Some(events));
    let starter: Starter = Box::new(move |_req: &StartRequest| {
        let events = slot.lock().unwrap().take().ok_or("started twice")?;
        Ok((port.clone() as Arc<dyn SessionPort>, events))
    });
    let (fake, mut held) = FakeProvider::held("fake");
    let (backend, mut frames) = WatchedBackend::new(100, 30);
    let (keys, key_rx) = unbounded_channel();

    let driver = tokio::spawn(async move {
        // Both batch queries are handed over at once, in order.
        let first = held.recv().await.unwrap();
        let second = held.recv().await.unwrap();
        assert_eq!(
            (first.query.id.as_str(), second.query.id.as_str()),
            ("q-1", "q-2")
        );
        screen_with(&mut frames, |s| {
            s.contains("1○ 2○") && s.contains("asking fake…")
        })
        .await;
        first.drip.send(Drip::Text("Rayl".into())).unwrap();
        screen_with(&mut frames, |s| {
            s.contains("streaming from fake…") && s.contains("Rayl")
        })
        .await;
        first.drip.send(Drip::Text("eigh".into())).unwrap();
        screen_with(&mut frames, |s| {
            s.contains("Rayleigh") && s.contains("1 of 2 streaming")
        })
        .await;
        first.drip.send(Drip::Done).unwrap();
        second
            .drip
            .send(Drip::Fail(SourceError::Failed(
                "HTTP 500 after 3 retries".into(),
            )))
            .unwrap();
        // q-1 leaves the pane once the session has its answer; q-2 is the person's.
        screen_with(&mut frames, |s| {
            s.contains("Pending q-2 ") && s.contains("HTTP 500") && s.contains("ctrl-s send")
        })
        .await;
        type_text(&keys, "mine");
        ctrl(&keys, 's');
        screen_with(&mut frames, |s| s.contains(" finished ")).await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });

    let (mut app, initial) = app("s.lua", Mode::Auto, None);
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(env(starter, fake));
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    driver.await.unwrap();

    assert_eq!(app.state(), SessionState::Finished);
    let answers: Vec<(String, String, AnswerOrigin)> = session
        .calls()
        .into_iter()
        .map(|c| match c {
            FakeCall::Answer(id, a) => (id, a.text, a.source),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        [
            (
                "q-1".to_string(),
                "Rayleigh".to_string(),
                AnswerOrigin::Provider
            ),
            ("q-2".to_string(), "mine".to_string(), AnswerOrigin::Human),
        ]
    );
}

/// Issue 8: time a person spends reviewing a draft is theirs. A 300 ms time budget,
/// a draft the person looks at for longer than that before accepting: the engine never
/// charges it, so the second call still starts and the run completes. The test waits
/// on the engine's own figures (its person clock passing the budget), never a sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_time_is_the_persons_and_never_charged_to_the_time_budget() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("two.lua");
    std::fs::write(
        &script,
        "local a = alc.llm('first')\nlocal b = alc.llm('second')\nreturn {a, b}\n",
    )
    .unwrap();
    let live: Arc<Mutex<Option<Session>>> = Arc::default();
    let slot = live.clone();
    let starter: Starter = Box::new(move |req: &StartRequest| {
        let mut cfg = SessionConfig::new(ScriptSpec::parse(&req.script));
        cfg.ctx = req.ctx.clone();
        let (session, events) = Session::start(cfg).map_err(|e| e.to_string())?;
        *slot.lock().unwrap() = Some(session.clone());
        Ok((Arc::new(session) as Arc<dyn SessionPort>, events))
    });
    let fake = FakeProvider::answering("fake", |q| Ok(vec![format!("draft {}", q.id)]));
    let (backend, mut frames) = WatchedBackend::new(120, 40);
    let (keys, key_rx) = unbounded_channel();
    let engine = live.clone();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| {
            s.contains("Pending q-1 ") && s.contains("Answer draft ·")
        })
        .await;
        // The person reads the draft for longer than the whole time budget.
        let session = engine.lock().unwrap().clone().unwrap();
        loop {
            let m = session.metrics();
            if m.human_ms > 450 {
                assert!(m.elapsed_ms < 300, "reviewing is not charged: {m:?}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ctrl(&keys, 's');
        screen_with(&mut frames, |s| {
            s.contains("Pending q-2 ") && s.contains("Answer draft ·")
        })
        .await;
        ctrl(&keys, 's');
        screen_with(&mut frames, |s| s.contains(" finished ")).await;
        press(&keys, KeyCode::Esc, KeyModifiers::NONE);
        type_text(&keys, "q");
    });

    let (mut app, initial) = App::new(AppOptions {
        script: Some(script.display().to_string()),
        ctx: json!({"budget": {"max_elapsed_ms": 300}}),
        autostart: true,
        mode: Mode::Review,
        answer_source: Some("fake".into()),
        source_is_provider: true,
        ..Default::default()
    });
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(env(starter, fake));
    tokio::time::timeout(
        Duration::from_secs(30),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    driver.await.unwrap();

    let outcome = app.session.outcome.as_ref().unwrap();
    assert_eq!(outcome.status, Status::Completed, "{:?}", outcome.error);
    assert_eq!(outcome.result, Some(json!(["draft q-1", "draft q-2"])));
    let m = &outcome.metrics;
    assert!(m.human_ms > 450 && m.elapsed_ms < 300, "{m:?}");
    assert_eq!(
        app.budget.metrics, *m,
        "the pane shows the engine's final figures"
    );
}
