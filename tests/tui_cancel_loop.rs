//! The real loop against a strategy stuck in a C call: after `c` the status bar says
//! it is stuck, and `q` still quits, ending the transcript with `end` (cancelled)
//! without waiting for the VM thread. Keys are sent only once a drawn frame shows the
//! state they are meant for; the one wait that is timed is the grace time itself.
//!
//! The C call here is `io.open` on a FIFO (blocks until the test opens the other end),
//! so nothing spins a core; tests/pty.rs does the same with a real catastrophic
//! `string.find` in a process of its own.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use alc_workbench::app::{App, AppOptions, SessionPort, StartRequest, Starter};
use alc_workbench::engine::session::ABANDONED;
use alc_workbench::engine::{LogLevel, ScriptSpec, Session, SessionConfig, SessionEvent};
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{started, wait_for_screen, FakeCall, ScriptedSession, WatchedBackend};
use alc_workbench::theme::Theme;

const STUCK: &str = "stuck in a C call (string.find?) — q quits";

type Keys = UnboundedSender<io::Result<Event>>;

fn press(keys: &Keys, c: char) {
    let _ = keys.send(Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    ))));
}

fn key_stream(
    mut rx: UnboundedReceiver<io::Result<Event>>,
) -> impl futures_util::Stream<Item = io::Result<Event>> + Unpin {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn screen_with(frames: &mut UnboundedReceiver<String>, wanted: impl Fn(&str) -> bool) {
    if wait_for_screen(frames, wanted).await.is_none() {
        panic!("the loop ended before the screen showed what the test waits for");
    }
}

fn env(starter: Starter) -> LoopEnv {
    LoopEnv {
        starter,
        answer_source: None,
        theme: Theme::built_in("dark").unwrap(),
        package_dirs: vec![],
        control: Box::new(NoTerminal),
    }
}

fn app(script: &str, transcript: Option<PathBuf>) -> (App, Vec<alc_workbench::app::Effect>) {
    App::new(AppOptions {
        script: Some(script.into()),
        ctx: json!({}),
        autostart: true,
        transcript,
        ..Default::default()
    })
}

fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("pipe");
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_quits_a_session_stuck_in_a_c_call_and_the_transcript_ends() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    let script = dir.path().join("stuck.lua");
    std::fs::write(
        &script,
        format!(
            "alc.log('info', 'opening the pipe')\nlocal f = io.open({:?})\nreturn 1\n",
            pipe.to_str().unwrap()
        ),
    )
    .unwrap();
    let transcript = dir.path().join("t.jsonl");
    let home = dir.path().join("home");
    let starter: Starter = Box::new(move |req: &StartRequest| {
        let mut cfg = SessionConfig::new(ScriptSpec::parse(&req.script));
        cfg.transcript = req.transcript.clone();
        cfg.alc_home = home.clone();
        let (session, events) = Session::start(cfg).map_err(|e| e.to_string())?;
        Ok((Arc::new(session) as Arc<dyn SessionPort>, events))
    });
    let (backend, mut frames) = WatchedBackend::new(120, 30);
    let (keys, key_rx) = unbounded_channel();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| s.contains("opening the pipe")).await;
        press(&keys, 'c');
        screen_with(&mut frames, |s| s.contains("cancelling…")).await;
        screen_with(&mut frames, |s| s.contains(STUCK)).await;
        press(&keys, 'q');
    });

    let (mut app, initial) = app(script.to_str().unwrap(), Some(transcript.clone()));
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(env(starter));
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("q quits although the VM is stuck")
    .unwrap();
    driver.await.unwrap();
    assert!(app.quitting);

    let lines: Vec<Value> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "end", "{lines:?}");
    assert_eq!(last["status"], "cancelled");
    assert_eq!(last["error"]["message"], ABANDONED);
    // Let the VM thread go.
    drop(std::fs::OpenOptions::new().write(true).open(&pipe).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_again_or_quitting_abandons_a_stuck_session_once() {
    let sessions: Arc<Mutex<Vec<Arc<ScriptedSession>>>> = Arc::default();
    let starter: Starter = {
        let sessions = sessions.clone();
        Box::new(move |_req: &StartRequest| {
            let (s, rx) = ScriptedSession::start_stuck(vec![vec![
                started("s.lua", json!({})),
                SessionEvent::Log {
                    level: LogLevel::Info,
                    msg: "in string.find".into(),
                },
            ]]);
            sessions.lock().unwrap().push(s.clone());
            Ok((s as Arc<dyn SessionPort>, rx))
        })
    };
    let (backend, mut frames) = WatchedBackend::new(120, 30);
    let (keys, key_rx) = unbounded_channel();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| s.contains("in string.find")).await;
        press(&keys, 'c');
        screen_with(&mut frames, |s| s.contains(STUCK)).await;
        // Run again: the stuck session is abandoned, a fresh one starts (not stuck).
        press(&keys, 'r');
        screen_with(&mut frames, |s| {
            !s.contains(STUCK) && s.contains(" running ")
        })
        .await;
        press(&keys, 'c');
        screen_with(&mut frames, |s| s.contains(STUCK)).await;
        press(&keys, 'q');
    });
    let (mut app, initial) = app("s.lua", None);
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(env(starter));
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("q quits")
    .unwrap();
    driver.await.unwrap();

    let sessions = sessions.lock().unwrap();
    assert_eq!(sessions.len(), 2);
    for s in sessions.iter() {
        let calls = s.calls();
        let abandons = calls
            .iter()
            .filter(|c| matches!(c, FakeCall::Abandon))
            .count();
        assert_eq!(abandons, 1, "{calls:?}");
        assert!(matches!(calls.first(), Some(FakeCall::Cancel)), "{calls:?}");
        assert!(matches!(calls.last(), Some(FakeCall::Abandon)), "{calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_a_session_that_stops_lets_it_record_its_own_end() {
    let sessions: Arc<Mutex<Vec<Arc<ScriptedSession>>>> = Arc::default();
    let starter: Starter = {
        let sessions = sessions.clone();
        Box::new(move |_req: &StartRequest| {
            let (s, rx) = ScriptedSession::start(vec![vec![
                started("s.lua", json!({})),
                SessionEvent::Log {
                    level: LogLevel::Info,
                    msg: "thinking".into(),
                },
            ]]);
            sessions.lock().unwrap().push(s.clone());
            Ok((s as Arc<dyn SessionPort>, rx))
        })
    };
    let (backend, mut frames) = WatchedBackend::new(120, 30);
    let (keys, key_rx) = unbounded_channel();
    let driver = tokio::spawn(async move {
        screen_with(&mut frames, |s| s.contains("thinking")).await;
        press(&keys, 'q');
    });
    let (mut app, initial) = app("s.lua", None);
    let mut terminal = Terminal::new(backend).unwrap();
    let mut event_loop = EventLoop::new(env(starter));
    tokio::time::timeout(
        Duration::from_secs(20),
        event_loop.run(&mut terminal, key_stream(key_rx), &mut app, initial),
    )
    .await
    .expect("q quits")
    .unwrap();
    driver.await.unwrap();
    let calls = sessions.lock().unwrap()[0].calls();
    assert!(matches!(calls.first(), Some(FakeCall::Cancel)), "{calls:?}");
    assert!(
        !calls.iter().any(|c| matches!(c, FakeCall::Abandon)),
        "a session that stops on cancel records its own end: {calls:?}"
    );
}
