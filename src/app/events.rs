//! How session events change the model: queries join the Pending pane (routed by their
//! mode: for the person, or handed to the answer source), answers and failures leave
//! it, every event's metrics are the Budget pane's figures, the end marks the error
//! line or shows the result. Pure: no I/O.

use super::pending::QueryStatus;
use super::source::Mark;
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
        SessionEvent::Started { .. } => {}
        SessionEvent::Resumed { pause } => {
            // Every query of the pause was answered, or the pause was withdrawn (a
            // batch item failed): what is left of it waits for nothing.
            let left: Vec<_> = app
                .pending
                .queries
                .iter()
                .filter(|q| q.pause == pause)
                .map(|q| q.query.id.clone())
                .collect();
            for id in left {
                if let Some(q) = app.pending.remove(&id) {
                    super::modes::drop_request(&q, fx);
                }
            }
        }
        SessionEvent::State { .. } | SessionEvent::Log { .. } => {}
        SessionEvent::Debug(event) => super::stepping::on_event(app, event, fx),
        SessionEvent::Paused { queries, pause } => {
            // In the order asked: a replay steps its cursor query by query.
            let mut new = Vec::with_capacity(queries.len());
            for query in queries {
                let mut q = super::replay::route(app, query, now, fx);
                q.pause = pause;
                new.push(q);
            }
            let for_you = new.iter().any(|q| q.status == QueryStatus::ForYou);
            // The Source pane follows the query shown (`sync_after`), whichever file
            // (a fork child's package) it was asked from.
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
            app.stack.resumed();
            app.breakpoints.live = None;
            super::unrecorded::forget(app);
            super::replay::finished(app);
            app.budget.finish(outcome.metrics.clone());
            for q in &app.pending.queries {
                super::modes::drop_request(q, fx);
            }
            app.pending.clear();
            // Where it failed, or where the cancel stopped it: the error's site (in a
            // package's file too), else the call it was waiting at.
            let site = outcome
                .error
                .as_ref()
                .and_then(|e| e.site.as_ref())
                .filter(|s| s.file.ends_with(".lua"))
                .map(|s| Mark {
                    file: s.file.clone(),
                    line: s.line,
                });
            let last_pause = app.source.paused.take();
            let mark = match outcome.status {
                Status::Failed => site.inspect(|m| app.source.error = Some(m.clone())),
                Status::Cancelled => site
                    .or(last_pause)
                    .inspect(|m| app.source.stopped = Some(m.clone())),
                Status::Completed => None,
            };
            if let Some(mark) = mark {
                show_source(app, &mark, fx);
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
pub(super) fn on_stream_closed(app: &mut App, fx: &mut Vec<Effect>) {
    if app.session.phase == Phase::Running {
        for q in &app.pending.queries {
            super::modes::drop_request(q, fx);
        }
        let status = if app.session.cancel_requested {
            Status::Cancelled
        } else {
            Status::Failed
        };
        app.session.phase = Phase::Ended(status);
        super::unrecorded::forget(app);
        app.pending.clear();
        app.stack.resumed();
        app.source.stopped = app.source.paused.take();
        app.message = Some("the session ended without a result".into());
    }
}

/// Keeps derived state in step after any message: the Source pane follows the query
/// shown (loading its file when it is another one: a package, a fork child), held
/// batch answers go once nothing of their pause waits for the person, and the session
/// hears when a query becomes the person's.
pub(super) fn sync_after(app: &mut App, fx: &mut Vec<Effect>) {
    let site = app.pending.current().and_then(|q| q.query.site.clone());
    let mark = site.filter(|s| s.file.ends_with(".lua")).map(|s| Mark {
        file: s.file,
        line: s.line,
    });
    if let Some(mark) = mark {
        // Follow it when it changes, or when its file still has to be shown.
        if app.source.paused.as_ref() != Some(&mark) || app.source.paused_line().is_none() {
            show_source(app, &mark, fx);
        }
        app.source.paused = Some(mark);
    } else {
        app.source.paused = None;
    }
    if app.is_running() {
        super::answering::release_ready(app, fx);
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

/// Brings `mark` into view, loading its file first when another one is shown.
pub(super) fn show_source(app: &mut App, mark: &Mark, fx: &mut Vec<Effect>) {
    let height = app.pane_height(Focus::Source);
    if let Some(file) = app.source.show(mark, height) {
        fx.push(Effect::LoadScript(file));
    }
}
