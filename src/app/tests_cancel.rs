//! Unit tests of a cancel that does not take: a strategy stuck inside a C call (no
//! `Finished` after the grace time) is noticed on the clock tick, the status bar's
//! note says so, and quitting still quits.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::*;
use crate::engine::{SessionEvent, CANCEL_GRACE};
use crate::testkit::started;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn tick(now_ms: u64) -> Msg {
    Msg::Tick {
        now_ms,
        metrics: None,
    }
}

/// A session that has been running for 5 s.
fn running() -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("stuck.lua".into()),
        ctx: json!({}),
        autostart: true,
        size: (100, 30),
        ..Default::default()
    });
    update(
        &mut app,
        Msg::Session(Stamped {
            seq: 1,
            t_ms: 0,
            event: started("stuck.lua", json!({})),
            metrics: Default::default(),
        }),
    );
    update(&mut app, tick(5_000));
    assert!(app.is_running());
    app
}

fn grace_ms() -> u64 {
    CANCEL_GRACE.as_millis() as u64
}

#[test]
fn a_cancel_without_an_end_within_the_grace_time_is_reported_as_stuck() {
    let mut app = running();
    assert_eq!(update(&mut app, key('c')), vec![Effect::Cancel]);
    assert_eq!(app.message.as_deref(), Some("cancelling…"));
    // Just inside the grace time: still only cancelling.
    update(&mut app, tick(5_000 + grace_ms() - 1));
    assert!(!app.session.stuck);
    assert_eq!(app.stuck_note(), None);
    // A second `c` neither cancels again nor restarts the grace time.
    assert!(update(&mut app, key('c')).is_empty());
    update(&mut app, tick(5_000 + grace_ms()));
    assert!(app.session.stuck);
    assert_eq!(
        app.stuck_note().as_deref(),
        Some("cancel requested · strategy is stuck in a C call (string.find?) — q quits")
    );
    // Other keys do not hide it: it is state, not a passing message.
    update(&mut app, key('?'));
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    assert!(app.stuck_note().is_some());
    // `q` quits although the session never ended.
    let fx = update(&mut app, key('q'));
    assert!(app.quitting);
    assert_eq!(fx.last(), Some(&Effect::Quit));
}

#[test]
fn a_cancel_that_takes_in_time_is_never_stuck() {
    let mut app = running();
    update(&mut app, key('c'));
    update(&mut app, tick(5_100));
    update(
        &mut app,
        Msg::Session(Stamped {
            seq: 2,
            t_ms: 5_100,
            event: SessionEvent::Finished(Outcome {
                status: Status::Cancelled,
                result: None,
                error: None,
                metrics: Default::default(),
            }),
            metrics: Default::default(),
        }),
    );
    update(&mut app, tick(5_000 + 10 * grace_ms()));
    assert!(!app.session.stuck);
    assert_eq!(app.stuck_note(), None);
    assert_eq!(app.state(), SessionState::Cancelled);
}

#[test]
fn a_stuck_session_ended_from_outside_or_restarted_is_no_longer_stuck() {
    let mut app = running();
    update(&mut app, key('c'));
    update(&mut app, tick(5_000 + grace_ms()));
    assert!(app.stuck_note().is_some());
    // `r` runs the script again: a fresh session starts, not stuck.
    let fx = update(&mut app, key('r'));
    assert!(
        fx.iter().any(|f| matches!(f, Effect::StartSession(_))),
        "{fx:?}"
    );
    assert!(!app.session.stuck && !app.session.cancel_requested);
    assert_eq!(app.stuck_note(), None);
}
