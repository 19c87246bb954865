//! How session events change the model: queries join the Pending pane (routed by their
//! mode: for the person, or handed to the answer source), answers and failures leave
//! it, every event's metrics are the Budget pane's figures, the end marks the error
//! line or shows the result. Pure: no I/O.

use super::pending::QueryStatus;
use super::{App, Effect, Focus, Overlay, Phase};
use crate::engine::{SessionEvent, Stamped, Status};

pub(super) fn on_event(app: &mut App, stamped: Stamped, fx: &mut Vec<Effect>) {
    if app.session.phase != Phase::Running {
        return; // a late event of a session already over
    }
    app.session.clock_ms = app.session.clock_ms.max(stamped.t_ms);
    app.trace.record(&stamped);
    app.budget.observe(&stamped.metrics);
    let now = stamped.t_ms;
    match stamped.event {
        SessionEvent::Started { .. } | SessionEvent::Resumed { .. } => {}
        SessionEvent::State { .. } | SessionEvent::Log { .. } => {}
        SessionEvent::Paused { queries, .. } => {
            let new: Vec<_> = queries
                .into_iter()
                .map(|query| super::modes::route(app, query, now, fx))
                .collect();
            let for_you = new.iter().any(|q| q.status == QueryStatus::ForYou);
            // A call site in another Lua file (a package's module): show that file.
            if let Some(site) = new.iter().find_map(|q| q.query.site.as_ref()) {
                let elsewhere = app.source.file.is_some() && !app.source.shows(&site.file);
                if elsewhere && site.file.ends_with(".lua") {
                    app.source.reveal_after_load = Some(site.line);
                    fx.push(Effect::LoadScript(site.file.clone()));
                }
            }
            app.pending.push(new);
            // Also under an overlay (it keeps the keys until closed): closing it then
            // lands in the answer editor.
            if for_you {
                app.focus = Focus::Pending;
            }
        }
        SessionEvent::Answered { id, .. } | SessionEvent::QueryFailed { id, .. } => {
            app.pending.remove(&id);
        }
        SessionEvent::Progress { step, total, msg } => {
            app.budget.progress = Some(super::budget::Progress { step, total, msg });
        }
        SessionEvent::Stat { key, value } => app.budget.stat(&key, value),
        SessionEvent::Finished(outcome) => {
            app.session.phase = Phase::Ended(outcome.status);
            super::unrecorded::forget(app);
            app.budget.finish(outcome.metrics.clone());
            app.pending.clear();
            app.source.paused_line = None;
            if let Some(site) = outcome.error.as_ref().and_then(|e| e.site.as_ref()) {
                app.source.error_line = Some(site.line);
                if app.source.shows(&site.file) {
                    let height = app.pane_height(Focus::Source);
                    app.source.reveal(site.line, height);
                } else {
                    app.source.reveal_after_load = Some(site.line);
                    fx.push(Effect::LoadScript(site.file.clone()));
                }
            }
            app.message = Some(match (&outcome.status, &outcome.error) {
                (Status::Failed, Some(e)) => format!("failed: {}", e.message),
                (Status::Cancelled, _) => "cancelled".to_string(),
                _ => "finished; v shows the result".to_string(),
            });
            if outcome.status == Status::Completed && app.overlay.is_none() {
                app.overlay = Some(Overlay::Result { scroll: 0 });
            }
            app.session.outcome = Some(outcome);
        }
    }
}

/// The event stream closed; if no `Finished` came, the session is over anyway.
pub(super) fn on_stream_closed(app: &mut App) {
    if app.session.phase == Phase::Running {
        let status = if app.session.cancel_requested {
            Status::Cancelled
        } else {
            Status::Failed
        };
        app.session.phase = Phase::Ended(status);
        super::unrecorded::forget(app);
        app.pending.clear();
        app.source.paused_line = None;
        app.message = Some("the session ended without a result".into());
    }
}

/// Keeps derived state in step after any message: the paused-line marker follows the
/// query shown, and the session hears when a query becomes the person's.
pub(super) fn sync_after(app: &mut App, fx: &mut Vec<Effect>) {
    let site = app.pending.current().and_then(|q| q.query.site.clone());
    match site {
        Some(site) => {
            if app.source.paused_line != Some(site.line) {
                app.source.paused_line = Some(site.line);
                if app.source.shows(&site.file) {
                    let height = app.pane_height(Focus::Source);
                    app.source.reveal(site.line, height);
                } else if app.source.lines.is_empty() {
                    app.source.reveal_after_load = Some(site.line);
                }
            }
        }
        None => app.source.paused_line = None,
    }
    if app.is_running() {
        person_ready(app, fx);
    }
}

/// Person time starts when a query is ready for the person: waiting for their text
/// in the Pending pane (manual), a review draft complete, or a failure handed back to
/// them. The engine is told once per query and keeps the clock (`person_ready`), so the
/// time the Budget pane shows as theirs is the time the engine does not charge.
fn person_ready(app: &mut App, fx: &mut Vec<Effect>) {
    for q in &mut app.pending.queries {
        if q.status == QueryStatus::ForYou && !q.person_ready_sent {
            q.person_ready_sent = true;
            fx.push(Effect::PersonReady(q.query.id.clone()));
        }
    }
}
