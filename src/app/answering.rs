//! Answering as the person: ctrl-s sends the answer in the editor (asking first when
//! it is empty); in a batch it is held, revisable, until the pause's last query is
//! answered, then every held answer goes to the session at once; one key sends the
//! same answer to every query still waiting. Pure: effects only.

use super::pending::{PendingQuery, QueryStatus};
use super::{modes, Action, App, Effect, Overlay};

pub(super) fn submit(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(q) = app.pending.current() else {
        return;
    };
    if !matches!(q.status, QueryStatus::ForYou | QueryStatus::Held(_)) {
        return;
    }
    let id = q.query.id.clone();
    let text = q.answer_text();
    if text.trim().is_empty() {
        app.overlay = Some(Overlay::ConfirmEmpty { id });
    } else {
        send(app, &id, text, fx);
    }
}

/// Takes the person's answer to `id` (their own, or a reviewed draft). While other
/// queries of its pause still wait for them it is held (and can be revised); with the
/// last one, every held answer of the pause goes to the session. Then shows the next
/// query waiting.
pub(super) fn send(app: &mut App, id: &str, text: String, fx: &mut Vec<Effect>) {
    let clock = app.session.clock_ms;
    let Some(q) = app.pending.find_mut(id) else {
        return;
    };
    let revised = matches!(q.status, QueryStatus::Held(_));
    q.status = QueryStatus::Held(modes::answer_for(q, text, clock));
    q.note = None;
    let pause = q.pause;
    let left = app.pending.waiting_in(pause);
    if left == 0 {
        release(app, pause, fx);
    } else {
        let key = app.keymap.hint(Action::Submit).unwrap_or_default();
        let what = if revised { "revised" } else { "kept" };
        app.message = Some(format!(
            "{id}: answer {what}; sent with the batch's last ({left} still waiting; {key} on it again revises it)"
        ));
    }
    app.pending.select_next_for_you();
}

/// Sends the held answers of every pause with no query left waiting for the person: the
/// last one may have left them another way than an answer (forwarded to the source,
/// failed), and a held answer must not wait for nothing (the strategy, and the
/// person's clock, would wait with it).
pub(super) fn release_ready(app: &mut App, fx: &mut Vec<Effect>) {
    let mut pauses: Vec<u64> = app
        .pending
        .queries
        .iter()
        .filter(|q| matches!(q.status, QueryStatus::Held(_)))
        .map(|q| q.pause)
        .collect();
    pauses.sort_unstable();
    pauses.dedup();
    for pause in pauses {
        if app.pending.waiting_in(pause) == 0 {
            release(app, pause, fx);
        }
    }
}

/// Sends every held answer of `pause` to the session, in the order asked.
fn release(app: &mut App, pause: u64, fx: &mut Vec<Effect>) {
    let held = |q: &&mut PendingQuery| q.pause == pause && matches!(q.status, QueryStatus::Held(_));
    for q in app.pending.queries.iter_mut().filter(held) {
        if let QueryStatus::Held(answer) = std::mem::replace(&mut q.status, QueryStatus::Sent) {
            fx.push(Effect::AnswerQuery {
                id: q.query.id.clone(),
                answer,
            });
        }
    }
}

/// One answer for the whole batch: the shown editor's text goes to every query of its
/// pause still waiting for the person (and replaces this one's held answer), then all
/// of them are sent.
pub(super) fn send_to_all(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(q) = app.pending.current() else {
        return;
    };
    if !matches!(q.status, QueryStatus::ForYou | QueryStatus::Held(_)) {
        return;
    }
    let text = q.answer_text();
    if text.trim().is_empty() {
        app.message = Some("type the answer first: it goes to every query still waiting".into());
        return;
    }
    let (pause, shown) = (q.pause, q.query.id.clone());
    let clock = app.session.clock_ms;
    let mut count = 0;
    for q in app.pending.queries.iter_mut().filter(|q| q.pause == pause) {
        if q.status == QueryStatus::ForYou || q.query.id == shown {
            q.set_editor_text(&text);
            q.status = QueryStatus::Held(modes::answer_for(q, text.clone(), clock));
            q.note = None;
            count += 1;
        }
    }
    release(app, pause, fx);
    app.message = Some(format!("sent the same answer to {count} queries"));
    app.pending.select_next_for_you();
}
