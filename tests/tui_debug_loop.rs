//! The debugger through the real loop with the real engine: `--break` stops the
//! strategy, the stopped screen shows the line and the Stack pane, a table expands,
//! an expression is evaluated (and a bad one shows its error, still stopped), F10
//! steps, F8 continues, a step from an `alc.llm` pause stops at the line after the
//! answer. Every key is sent after the screen shows the state it acts on.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use alc_workbench::app::{App, AppOptions, SessionPort, SessionState, StartRequest, Starter};
use alc_workbench::engine::{BreakpointSpec, ScriptSpec, Session, SessionConfig, Status};
use alc_workbench::runtime::terminal::NoTerminal;
use alc_workbench::runtime::{EventLoop, LoopEnv};
use alc_workbench::testkit::{wait_for_screen, WatchedBackend};
use alc_workbench::theme::Theme;

const SCRIPT: &str = r#"local total = 10
local t = {list = {4, 8}}
local function add(a, b)
  local sum = a + b + #t.list
  return sum
end
total = add(total, 5)
local after = total + 1
local v = alc.llm("ok?")
return {total = total, v = v, after = after}
"#;

type Keys = UnboundedSender<io::Result<Event>>;

fn send(keys: &Keys, code: KeyCode, mods: KeyModifiers) {
    let _ = keys.send(Ok(Event::Key(KeyEvent::new(code, mods))));
}

fn press(keys: &Keys, code: KeyCode) {
    send(keys, code, KeyModifiers::NONE);
}

fn typed(keys: &Keys, text: &str) {
    for c in text.chars() {
        press(keys, KeyCode::Char(c));
    }
}

async fn screen_with(frames: &mut UnboundedReceiver<String>, wanted: impl Fn(&str) -> bool) {
    if wait_for_screen(frames, wanted).await.is_none() {
        panic!("the loop ended before the screen showed what the test waits for");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_inspect_step_evaluate_and_continue_through_the_real_loop() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.lua");
    std::fs::write(&script, SCRIPT).unwrap();
    let home = dir.path().join("home");
    let starter: Starter = Box::new(move |req: &StartRequest| {
        let mut cfg = SessionConfig::new(ScriptSpec::parse(&req.script));
        cfg.ctx = req.ctx.clone();
        cfg.alc_home = home.clone();
        cfg.seed = Some(1);
        cfg.breakpoints = req.breakpoints.clone();
        let (session, events) = Session::start(cfg).map_err(|e| e.to_string())?;
        Ok((Arc::new(session) as Arc<dyn SessionPort>, events))
    });

    let (backend, mut frames) = WatchedBackend::new(120, 40);
    let (keys, key_rx) = unbounded_channel::<io::Result<Event>>();
    let driver = tokio::spawn(async move {
        // Stopped at the breakpoint, the Stack pane in the Trace's place.
        screen_with(&mut frames, |s| {
            s.contains("s.lua:4 (breakpoint)") && s.contains("a = 10") && s.contains("b = 5")
        })
        .await;
        // The Stack pane: its last row is the upvalue `t`; enter expands it.
        press(&keys, KeyCode::Tab);
        press(&keys, KeyCode::Tab);
        press(&keys, KeyCode::End);
        press(&keys, KeyCode::Enter);
        screen_with(&mut frames, |s| {
            s.contains("▾ t = table") && s.contains("list = table")
        })
        .await;
        // An expression in the selected frame, then one with an error: still stopped.
        press(&keys, KeyCode::Char('='));
        typed(&keys, "a + b + #t.list");
        press(&keys, KeyCode::Enter);
        screen_with(&mut frames, |s| s.contains("= a + b + #t.list → 17")).await;
        press(&keys, KeyCode::Char('='));
        typed(&keys, "nope.x");
        press(&keys, KeyCode::Enter);
        screen_with(&mut frames, |s| {
            s.contains("= nope.x → error:") && s.contains("(breakpoint)")
        })
        .await;
        // Step over to the next line of `add`.
        press(&keys, KeyCode::F(10));
        screen_with(&mut frames, |s| {
            s.contains("s.lua:5 (step)") && s.contains("sum = 17")
        })
        .await;
        // Continue to the query; a step from there stops after the answer.
        press(&keys, KeyCode::F(8));
        screen_with(&mut frames, |s| s.contains("waiting for you")).await;
        press(&keys, KeyCode::F(10));
        screen_with(&mut frames, |s| s.contains("line after the answer")).await;
        typed(&keys, "yes");
        send(&keys, KeyCode::Char('s'), KeyModifiers::CONTROL);
        screen_with(&mut frames, |s| s.contains("s.lua:10 (step)")).await;
        press(&keys, KeyCode::F(8));
        screen_with(&mut frames, |s| s.contains("finished")).await;
        press(&keys, KeyCode::Esc);
        press(&keys, KeyCode::Char('q'));
    });
    let mut key_rx = key_rx;
    let keys = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));

    let (mut app, initial) = App::new(AppOptions {
        script: Some(script.to_str().unwrap().into()),
        ctx: json!({}),
        autostart: true,
        breakpoints: vec![BreakpointSpec {
            file: "s.lua".into(),
            line: 4,
            condition: None,
        }],
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
        Duration::from_secs(30),
        event_loop.run(&mut terminal, keys, &mut app, initial),
    )
    .await
    .expect("the loop ends after q")
    .unwrap();
    driver.await.unwrap();

    assert_eq!(app.state(), SessionState::Finished);
    let outcome = app.session.outcome.as_ref().unwrap();
    assert_eq!(outcome.status, Status::Completed);
    assert_eq!(
        outcome.result.as_ref().unwrap(),
        &json!({"total": 17, "v": "yes", "after": 18})
    );
}
