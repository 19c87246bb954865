//! Unit tests of modes: the global mode key, per call site overrides, forwarding one
//! query, review drafts (accepted, edited, rejected), streaming, batch states, and what
//! a provider failure does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::modes::NO_PROVIDER;
use super::pending::{Handoff, QueryPhase, QueryStatus};
use super::*;
use crate::answer::SourceError;
use crate::engine::{AnswerOrigin, SessionEvent, Usage};
use crate::testkit::{batch, query, started};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
fn alt(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT))
}
fn f5() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE))
}
fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(update(app, key(c)).is_empty());
    }
}

/// A running session with a provider named "local" (or none).
fn running(mode: Mode, source: Option<&str>, on_error: OnProviderError) -> App {
    let (mut app, _) = App::new(AppOptions {
        script: Some("demo/cot.lua".into()),
        ctx: json!({}),
        autostart: true,
        mode,
        answer_source: source.map(str::to_string),
        source_is_provider: source.is_some(),
        on_provider_error: on_error,
        size: (100, 30),
        ..Default::default()
    });
    update(&mut app, event(1, started("demo/cot.lua", json!({}))));
    app
}

fn provider(mode: Mode) -> App {
    running(mode, Some("local"), OnProviderError::Ask)
}

fn event(seq: u64, event: SessionEvent) -> Msg {
    Msg::Session(Stamped {
        seq,
        t_ms: seq * 1000,
        event,
        metrics: Metrics {
            wall_ms: seq * 1000,
            ..Metrics::default()
        },
    })
}

fn paused(app: &mut App, seq: u64, queries: Vec<Query>) -> Vec<Effect> {
    update(
        app,
        event(
            seq,
            SessionEvent::Paused {
                pause: seq,
                queries,
            },
        ),
    )
}

fn reply(app: &mut App, id: &str, result: Result<Answer, SourceError>) -> Vec<Effect> {
    update(
        app,
        Msg::SourceReply {
            request: 1,
            id: id.into(),
            result,
        },
    )
}

fn stream(app: &mut App, id: &str, text: &str) {
    let fx = update(
        app,
        Msg::StreamText {
            request: 1,
            id: id.into(),
            text: text.into(),
        },
    );
    assert!(fx.is_empty());
}

fn model_answer(text: &str) -> Answer {
    Answer {
        finish: None,
        served_model: None,
        text: text.into(),
        source: AnswerOrigin::Provider,
        model: Some("smollm2".into()),
        usage: Some(Usage {
            prompt_tokens: 12,
            completion_tokens: 3,
        }),
        latency_ms: 850,
        provider: Some("local".into()),
    }
}

fn current(app: &App) -> &pending::PendingQuery {
    app.pending.current().expect("a query is shown")
}

fn sent(fx: &[Effect]) -> (&str, &Answer) {
    match fx {
        [Effect::AnswerQuery { id, answer }] => (id, answer),
        other => panic!("expected one answer, got {other:?}"),
    }
}

#[test]
fn a_cycles_manual_auto_review_and_back() {
    let mut app = provider(Mode::Manual);
    assert_eq!(app.focus, Focus::Source);
    for want in [Mode::Auto, Mode::Review, Mode::Manual, Mode::Auto] {
        assert!(update(&mut app, key('a')).is_empty());
        assert_eq!(app.mode, want);
    }
    assert!(app.message.as_deref().unwrap().contains("local answers"));
    let q = query("q-1", "p", "demo/cot.lua", 3);
    let fx = paused(&mut app, 2, vec![q.clone()]);
    assert_eq!(
        fx,
        vec![Effect::AskSource {
            query: q,
            request: 1
        }],
        "auto hands it over at once"
    );
    assert_eq!(app.state(), SessionState::Running);
}

#[test]
fn without_a_source_auto_review_and_f5_fall_back_to_manual() {
    let mut app = running(Mode::Auto, None, OnProviderError::Ask);
    assert_eq!(
        app.mode,
        Mode::Manual,
        "config said auto, but nothing can answer"
    );
    assert_eq!(app.message.as_deref(), Some(NO_PROVIDER));
    update(&mut app, key('a'));
    assert_eq!(app.mode, Mode::Manual);
    assert_eq!(app.message.as_deref(), Some(NO_PROVIDER));
    assert_eq!(
        paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]),
        vec![Effect::PersonReady("q-1".into())],
        "manual: the person's time starts when the query waits for them"
    );
    assert!(app.editing());
    assert!(update(&mut app, f5()).is_empty());
    assert_eq!(app.message.as_deref(), Some(NO_PROVIDER));
    update(&mut app, alt('m'));
    assert!(app.site_modes.is_empty());
    assert_eq!(current(&app).status, QueryStatus::ForYou);
}

#[test]
fn m_sets_the_call_sites_mode_for_its_next_queries() {
    let mut app = provider(Mode::Manual);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 13)]);
    assert!(app.editing());
    // In the editor a plain m types; alt-m reaches the binding.
    typed(&mut app, "m");
    assert_eq!(current(&app).answer_text(), "m");
    assert!(app.site_modes.is_empty());
    update(&mut app, alt('m'));
    let site = SiteKey {
        file: "demo/cot.lua".into(),
        line: 13,
    };
    assert_eq!(app.site_modes.get(&site), Some(&Mode::Manual));
    assert!(
        update(&mut app, alt('m')).is_empty(),
        "the shown one stays put"
    );
    assert_eq!(app.site_modes.get(&site), Some(&Mode::Auto));
    assert_eq!(
        app.message.as_deref(),
        Some("demo/cot.lua:13: auto from its next query")
    );
    assert_eq!(current(&app).status, QueryStatus::ForYou);
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(sent(&fx).0, "q-1");

    // The next queries: the overridden site goes to the provider, another waits.
    let at_site = query("q-2", "p", "demo/cot.lua", 13);
    let elsewhere = query("q-3", "p", "demo/cot.lua", 20);
    let fx = paused(&mut app, 3, vec![at_site.clone(), elsewhere]);
    assert_eq!(
        fx,
        vec![
            Effect::AskSource {
                query: at_site,
                request: 1
            },
            Effect::PersonReady("q-3".into())
        ]
    );
    assert_eq!(
        app.pending.queries[1].status,
        QueryStatus::Asking("local".into())
    );
    assert_eq!(app.pending.queries[2].status, QueryStatus::ForYou);

    // Shown while the provider has it (not editing): a plain m works.
    update(&mut app, ctrl('p'));
    assert_eq!(current(&app).query.id, "q-2");
    assert!(!app.editing());
    update(&mut app, key('m'));
    assert_eq!(app.site_modes.get(&site), Some(&Mode::Review));
    update(&mut app, key('m'));
    assert_eq!(app.site_modes.get(&site), None, "back to inherit");
    assert!(app.message.as_deref().unwrap().contains("inherit (manual)"));
}

#[test]
fn f5_forwards_just_this_query_and_r_still_runs() {
    let mut app = provider(Mode::Manual);
    let q = query("q-1", "p", "demo/cot.lua", 3);
    paused(&mut app, 2, vec![q.clone()]);
    typed(&mut app, "half");
    assert_eq!(
        update(&mut app, f5()),
        vec![
            Effect::PersonAway("q-1".into()),
            Effect::AskSource {
                query: q,
                request: 1
            }
        ],
        "the person had it; while the model drafts, the time is not theirs"
    );
    assert_eq!(current(&app).status, QueryStatus::Asking("local".into()));
    assert_eq!(current(&app).handoff, Some(Handoff::Forward));
    assert_eq!(app.mode, Mode::Manual, "a one-off: the mode stays");
    assert!(update(&mut app, f5()).is_empty());
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("already with local"));
    let fx = reply(&mut app, "q-1", Ok(model_answer("Rayleigh")));
    let (_, answer) = sent(&fx);
    assert_eq!(answer.source, AnswerOrigin::Provider);
    assert_eq!(answer.model.as_deref(), Some("smollm2"));
    // f5 is not run any more; r is.
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
    );
    assert!(update(&mut app, f5()).is_empty());
    let fx = update(&mut app, key('r'));
    assert!(
        matches!(
            &fx[..],
            [
                Effect::Cancel,
                Effect::LoadScript(_),
                Effect::StartSession(_)
            ]
        ),
        "{fx:?}"
    );
}

/// A review-mode query with the provider's draft (streamed first) in its editor.
fn drafted() -> App {
    let mut app = provider(Mode::Review);
    let q = query("q-1", "Why is the sky blue?", "demo/cot.lua", 3);
    assert_eq!(
        paused(&mut app, 2, vec![q.clone()]),
        vec![Effect::AskSource {
            query: q,
            request: 1
        }]
    );
    assert_eq!(current(&app).phase(), QueryPhase::Waiting);
    assert!(!app.editing(), "nothing to edit before the draft");
    stream(&mut app, "q-1", "Rayleigh ");
    stream(&mut app, "q-1", "scattering");
    assert_eq!(current(&app).streamed, "Rayleigh scattering");
    assert_eq!(current(&app).phase(), QueryPhase::Streaming);
    let fx = reply(&mut app, "q-1", Ok(model_answer("Rayleigh scattering")));
    assert_eq!(
        fx,
        vec![Effect::PersonReady("q-1".into())],
        "review does not send; the person's time starts with the complete draft"
    );
    let q = current(&app);
    assert_eq!(q.status, QueryStatus::ForYou);
    assert_eq!(q.answer_text(), "Rayleigh scattering");
    assert_eq!(q.phase(), QueryPhase::Done);
    assert!(q.streamed.is_empty());
    assert_eq!(app.focus, Focus::Pending);
    assert!(app.editing());
    assert_eq!(app.state(), SessionState::Waiting);
    app
}

#[test]
fn a_review_draft_edited_is_provider_edited() {
    let mut app = drafted();
    // The draft opens at its start, so typing goes in front.
    typed(&mut app, "Mostly ");
    let fx = update(&mut app, ctrl('s'));
    let (id, answer) = sent(&fx);
    assert_eq!(id, "q-1");
    assert_eq!(answer.text, "Mostly Rayleigh scattering");
    assert_eq!(answer.source, AnswerOrigin::ProviderEdited);
    assert_eq!(answer.model.as_deref(), Some("smollm2"));
    assert_eq!(answer.usage.map(|u| u.completion_tokens), Some(3));
    assert_eq!(current(&app).status, QueryStatus::Sent);
}

#[test]
fn a_review_draft_accepted_unchanged_is_provider() {
    let mut app = drafted();
    let fx = update(&mut app, ctrl('s'));
    assert_eq!(sent(&fx).1, &model_answer("Rayleigh scattering"));
    // Edited and edited back is still the provider's answer.
    let mut app = drafted();
    typed(&mut app, "x");
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
    );
    assert_eq!(
        sent(&update(&mut app, ctrl('s'))).1.source,
        AnswerOrigin::Provider
    );
}

#[test]
fn a_rejected_draft_is_answered_by_hand() {
    let mut app = drafted();
    assert!(update(&mut app, ctrl('r')).is_empty());
    let q = current(&app);
    assert_eq!(q.answer_text(), "");
    assert!(q.draft.is_none());
    assert_eq!(q.phase(), QueryPhase::You);
    assert!(q.note.as_deref().unwrap().contains("draft rejected"));
    typed(&mut app, "Blue light scatters more");
    let fx = update(&mut app, ctrl('s'));
    let (_, answer) = sent(&fx);
    assert_eq!(answer.text, "Blue light scatters more");
    assert_eq!(answer.source, AnswerOrigin::Human);
    assert_eq!(answer.model, None);
}

#[test]
fn ctrl_r_with_nothing_to_reject_is_the_editors_redo() {
    let mut app = provider(Mode::Manual);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    typed(&mut app, "ab");
    update(&mut app, ctrl('u'));
    let undone = current(&app).answer_text();
    assert_ne!(undone, "ab");
    update(&mut app, ctrl('r'));
    assert_eq!(current(&app).answer_text(), "ab");
}

#[test]
fn ctrl_r_while_the_provider_works_takes_the_query_over() {
    let mut app = provider(Mode::Review);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
    );
    assert_eq!(app.focus, Focus::Pending);
    stream(&mut app, "q-1", "Ray");
    let fx = update(&mut app, ctrl('r'));
    assert_eq!(
        fx,
        vec![
            Effect::DropRequest {
                id: "q-1".into(),
                request: 1
            },
            Effect::PersonReady("q-1".into())
        ],
        "the request is dropped, so the server stops generating"
    );
    assert_eq!(current(&app).status, QueryStatus::ForYou);
    assert!(app.editing());
    // The late reply and late text change nothing.
    stream(&mut app, "q-1", "leigh");
    assert!(reply(&mut app, "q-1", Ok(model_answer("Rayleigh"))).is_empty());
    assert!(current(&app).draft.is_none());
    assert_eq!(current(&app).answer_text(), "");
}

#[test]
fn an_auto_failure_goes_back_to_the_person() {
    let mut app = provider(Mode::Auto);
    let qs = batch(vec![
        query("q-1", "a", "demo/cot.lua", 3),
        query("q-2", "b", "demo/cot.lua", 3),
    ]);
    assert_eq!(paused(&mut app, 2, qs.clone()).len(), 2);
    assert_eq!(app.focus, Focus::Source, "nothing for you yet");
    let fx = reply(
        &mut app,
        "q-2",
        Err(SourceError::Failed("HTTP 500 after 3 retries".into())),
    );
    assert_eq!(
        fx,
        vec![Effect::PersonReady("q-2".into())],
        "never failed silently: the query is the person's now"
    );
    let q2 = &app.pending.queries[1];
    assert_eq!(q2.status, QueryStatus::ForYou);
    assert_eq!(q2.phase(), QueryPhase::Failed);
    let note = q2.note.as_deref().unwrap();
    assert!(
        note.contains("HTTP 500") && note.contains("answer it yourself"),
        "{note}"
    );
    assert!(app
        .message
        .as_deref()
        .unwrap()
        .contains("q-2: local failed"));
    assert_eq!(app.focus, Focus::Pending);
    assert_eq!(current(&app).query.id, "q-2", "shown, for you to answer");
    assert_eq!(app.state(), SessionState::Waiting);
    let fx = reply(&mut app, "q-1", Ok(model_answer("A")));
    assert_eq!(sent(&fx).0, "q-1");
    assert_eq!(current(&app).query.id, "q-2", "still the one you are on");
    typed(&mut app, "B by hand");
    let fx = update(&mut app, ctrl('s'));
    let (id, answer) = sent(&fx);
    assert_eq!((id, answer.source), ("q-2", AnswerOrigin::Human));
}

#[test]
fn on_provider_error_fail_fails_the_query_in_auto_mode_only() {
    let mut app = running(Mode::Auto, Some("local"), OnProviderError::Fail);
    paused(&mut app, 2, vec![query("q-1", "a", "demo/cot.lua", 3)]);
    let fx = reply(
        &mut app,
        "q-1",
        Err(SourceError::Timeout("read timed out".into())),
    );
    assert_eq!(
        fx,
        vec![Effect::FailQuery {
            id: "q-1".into(),
            error: "read timed out".into()
        }]
    );
    assert_eq!(current(&app).phase(), QueryPhase::Failed);
    assert!(!app.editing());
    // In review the person is there: a failure is theirs to answer.
    let mut app = running(Mode::Review, Some("local"), OnProviderError::Fail);
    paused(&mut app, 2, vec![query("q-1", "a", "demo/cot.lua", 3)]);
    let fx = reply(&mut app, "q-1", Err(SourceError::Failed("401".into())));
    assert_eq!(fx, vec![Effect::PersonReady("q-1".into())]);
    assert_eq!(current(&app).status, QueryStatus::ForYou);
}

#[test]
fn a_batch_shows_each_querys_state() {
    let mut app = provider(Mode::Auto);
    let qs = batch(
        (1..=4)
            .map(|i| query(&format!("q-{i}"), "p", "demo/cot.lua", 3))
            .collect(),
    );
    paused(&mut app, 2, qs);
    stream(&mut app, "q-2", "stre");
    stream(&mut app, "q-9", "nobody's");
    reply(&mut app, "q-3", Ok(model_answer("done")));
    reply(&mut app, "q-4", Err(SourceError::Failed("boom".into())));
    let phases: Vec<_> = app.pending.queries.iter().map(|q| q.phase()).collect();
    assert_eq!(
        phases,
        vec![
            QueryPhase::Waiting,
            QueryPhase::Streaming,
            QueryPhase::Done,
            QueryPhase::Failed
        ]
    );
    // Text after the answer is ignored.
    stream(&mut app, "q-3", "late");
    assert!(app.pending.queries[2].streamed.is_empty());
    // The failed one is shown; f5 asks again.
    let q4 = app.pending.queries[3].query.clone();
    assert_eq!(current(&app).query.id, "q-4");
    assert_eq!(
        update(&mut app, f5()),
        vec![
            Effect::PersonAway("q-4".into()),
            Effect::AskSource {
                query: q4,
                request: 2
            }
        ]
    );
    assert_eq!(current(&app).phase(), QueryPhase::Waiting);
}

fn reply_to(
    app: &mut App,
    id: &str,
    request: u64,
    result: Result<Answer, SourceError>,
) -> Vec<Effect> {
    update(
        app,
        Msg::SourceReply {
            id: id.into(),
            request,
            result,
        },
    )
}

#[test]
fn a_late_reply_to_a_rejected_request_is_never_taken_for_the_new_one() {
    let mut app = provider(Mode::Review);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
    );
    update(&mut app, ctrl('r'));
    let q = current(&app).query.clone();
    assert_eq!(
        update(&mut app, f5()),
        vec![
            Effect::PersonAway("q-1".into()),
            Effect::AskSource {
                query: q,
                request: 2
            }
        ],
        "f5 after ctrl-r is a new hand-over, and the model's time, not the person's"
    );
    // The first request's text and reply arrive late: neither is the draft.
    update(
        &mut app,
        Msg::StreamText {
            id: "q-1".into(),
            request: 1,
            text: "old".into(),
        },
    );
    assert!(current(&app).streamed.is_empty());
    assert!(reply_to(&mut app, "q-1", 1, Ok(model_answer("old answer"))).is_empty());
    assert!(current(&app).is_asking(), "still waiting for request 2");
    assert!(current(&app).draft.is_none());
    reply_to(&mut app, "q-1", 2, Ok(model_answer("new answer")));
    assert_eq!(current(&app).draft.as_ref().unwrap().text, "new answer");
    assert_eq!(current(&app).answer_text(), "new answer");
}

#[test]
fn a_cut_off_draft_says_so_and_keeps_its_finish_when_edited() {
    let mut app = provider(Mode::Review);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    let mut cut = model_answer("Blue light scat");
    cut.finish = Some("length".into());
    reply(&mut app, "q-1", Ok(cut));
    let note = current(&app).note.clone().unwrap();
    assert!(
        note.contains("cut off") && note.contains("finish = length"),
        "{note}"
    );
    typed(&mut app, "ters");
    let fx = update(&mut app, ctrl('s'));
    let (_, answer) = sent(&fx);
    assert_eq!(answer.source, AnswerOrigin::ProviderEdited);
    assert_eq!(answer.finish.as_deref(), Some("length"));
}

#[test]
fn a_withdrawn_batch_drops_the_requests_still_in_flight() {
    let mut app = provider(Mode::Auto);
    let qs = batch(
        (1..=3)
            .map(|i| query(&format!("q-{i}"), "p", "demo/cot.lua", 3))
            .collect(),
    );
    paused(&mut app, 2, qs);
    // q-2 fails the batch (on_provider_error = fail would; here the engine withdrew
    // the pause after a failure) and the strategy resumes with the error.
    let fx = update(&mut app, event(3, SessionEvent::Resumed { pause: 2 }));
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::DropRequest { .. }))
            .count(),
        3
    );
    assert!(
        app.pending.queries.is_empty(),
        "nothing of the pause is left"
    );
}

#[test]
fn the_end_of_a_session_drops_its_requests() {
    let mut app = provider(Mode::Auto);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    let fx = update(
        &mut app,
        event(
            3,
            SessionEvent::Finished(crate::engine::Outcome {
                status: crate::engine::Status::Failed,
                result: None,
                error: None,
                metrics: Metrics::default(),
            }),
        ),
    );
    assert!(fx.contains(&Effect::DropRequest {
        id: "q-1".into(),
        request: 1
    }));
}

#[test]
fn a_stream_closed_without_an_end_drops_the_requests_too() {
    let mut app = provider(Mode::Auto);
    paused(&mut app, 2, vec![query("q-1", "p", "demo/cot.lua", 3)]);
    let fx = update(&mut app, Msg::SessionEnded);
    assert!(fx.contains(&Effect::DropRequest {
        id: "q-1".into(),
        request: 1
    }));
}
