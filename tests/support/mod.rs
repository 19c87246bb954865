//! Shared helpers for engine tests: run a strategy with an in-test answerer.
#![allow(dead_code)]

use alc_workbench::engine::{
    Answer, AnswerOrigin, EventStream, Outcome, Query, ScriptSpec, Session, SessionConfig,
    SessionEvent, Stamped,
};

pub fn config(code: &str) -> SessionConfig {
    let mut c = SessionConfig::new(ScriptSpec::Inline {
        name: "test.lua".into(),
        code: code.into(),
    });
    c.seed = Some(7);
    c
}

/// Drives a session to the end, answering each query with `answer(query)`
/// (Ok = answer text, Err = fail the query). Returns the outcome and every event.
pub fn drive(
    session: &Session,
    mut events: EventStream,
    mut answer: impl FnMut(&Query) -> Result<String, String>,
) -> (Outcome, Vec<Stamped>) {
    let mut seen = Vec::new();
    while let Some(ev) = events.blocking_recv() {
        let done = match &ev.event {
            SessionEvent::Paused { queries, .. } => {
                for q in queries {
                    match answer(q) {
                        Ok(text) => session
                            .answer(&q.id, Answer::new(text, AnswerOrigin::Script))
                            .unwrap(),
                        Err(e) => session.fail(&q.id, &e).unwrap(),
                    }
                }
                None
            }
            SessionEvent::Finished(o) => Some(o.clone()),
            _ => None,
        };
        seen.push(ev);
        if let Some(o) = done {
            return (o, seen);
        }
    }
    panic!("event stream closed without Finished");
}

pub fn run(
    code: &str,
    answer: impl FnMut(&Query) -> Result<String, String>,
) -> (Outcome, Vec<Stamped>) {
    run_config(config(code), answer)
}

pub fn run_config(
    config: SessionConfig,
    answer: impl FnMut(&Query) -> Result<String, String>,
) -> (Outcome, Vec<Stamped>) {
    let (session, events) = Session::start(config).expect("session starts");
    drive(&session, events, answer)
}

/// Runs code that asks nothing; panics if it asks.
pub fn eval(code: &str) -> Outcome {
    run(code, |q| panic!("unexpected query {q:?}")).0
}

pub fn queries(events: &[Stamped]) -> Vec<Query> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::Paused { queries, .. } => Some(queries.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

pub fn logs(events: &[Stamped]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            SessionEvent::Log { level, msg } => Some((level.label().to_string(), msg.clone())),
            _ => None,
        })
        .collect()
}
