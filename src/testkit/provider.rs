//! A fake streaming answer source for tests: [`FakeProvider`] either answers at once
//! (its pieces streamed through the sink, or an error), or holds each query until the
//! test drips pieces and an end through a channel ([`HeldQuery`]) — slow answers
//! without sleeps. Records every query it is asked. No network, no timers.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::answer::{AnswerFuture, AnswerSource, SourceError, TextSink};
use crate::engine::{Answer, AnswerOrigin, Query, Usage};

/// The model name a fake answer carries.
pub const FAKE_MODEL: &str = "fake-model";

/// How the fake answers one query at once: the pieces to stream, or an error.
pub type FakePlan = Box<dyn Fn(&Query) -> Result<Vec<String>, SourceError> + Send + Sync>;

/// What the test sends a held query.
#[derive(Debug, Clone, PartialEq)]
pub enum Drip {
    /// A piece of text, streamed at once.
    Text(String),
    /// The answer is complete: the pieces so far.
    Done,
    /// The request fails with this error.
    Fail(SourceError),
}

/// A query the fake holds until the test says how it goes on.
pub struct HeldQuery {
    pub query: Query,
    pub drip: UnboundedSender<Drip>,
}

enum Behaviour {
    Immediate(FakePlan),
    Held(UnboundedSender<HeldQuery>),
}

/// A provider stand-in. Answers carry origin `provider`, model [`FAKE_MODEL`], usage
/// (prompt and answer length in words) and latency 7 ms.
pub struct FakeProvider {
    name: String,
    behaviour: Behaviour,
    asked: Mutex<Vec<Query>>,
}

impl FakeProvider {
    /// Answers each query at once with the pieces `plan` gives (or its error).
    pub fn answering(
        name: &str,
        plan: impl Fn(&Query) -> Result<Vec<String>, SourceError> + Send + Sync + 'static,
    ) -> Arc<FakeProvider> {
        Arc::new(FakeProvider {
            name: name.into(),
            behaviour: Behaviour::Immediate(Box::new(plan)),
            asked: Mutex::new(Vec::new()),
        })
    }

    /// Holds every query; the test receives each one and drips its answer.
    pub fn held(name: &str) -> (Arc<FakeProvider>, UnboundedReceiver<HeldQuery>) {
        let (tx, rx) = unbounded_channel();
        let fake = Arc::new(FakeProvider {
            name: name.into(),
            behaviour: Behaviour::Held(tx),
            asked: Mutex::new(Vec::new()),
        });
        (fake, rx)
    }

    /// Every query asked so far, in the order they were handed over.
    pub fn asked(&self) -> Vec<Query> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn answer(query: &Query, text: String) -> Answer {
    let words = |s: &str| s.split_whitespace().count() as u64;
    Answer {
        finish: None,
        served_model: None,
        usage: Some(Usage {
            prompt_tokens: words(&query.prompt),
            completion_tokens: words(&text),
        }),
        text,
        source: AnswerOrigin::Provider,
        model: Some(FAKE_MODEL.into()),
        latency_ms: 7,
        provider: None,
    }
}

impl AnswerSource for FakeProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        self.answer_streaming(query, Arc::new(|_: &str| {}))
    }

    fn answer_streaming<'a>(&'a self, query: &Query, on_text: TextSink) -> AnswerFuture<'a> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(query.clone());
        let query = query.clone();
        match &self.behaviour {
            Behaviour::Immediate(plan) => {
                let planned = plan(&query);
                Box::pin(async move {
                    let pieces = planned?;
                    for piece in &pieces {
                        on_text(piece);
                    }
                    Ok(answer(&query, pieces.concat()))
                })
            }
            Behaviour::Held(tests) => {
                let (drip, mut drips) = unbounded_channel();
                let handed = tests.send(HeldQuery {
                    query: query.clone(),
                    drip,
                });
                Box::pin(async move {
                    if handed.is_err() {
                        return Err(SourceError::Failed("the test stopped listening".into()));
                    }
                    let mut text = String::new();
                    loop {
                        match drips.recv().await {
                            Some(Drip::Text(piece)) => {
                                on_text(&piece);
                                text.push_str(&piece);
                            }
                            Some(Drip::Done) => return Ok(answer(&query, text)),
                            Some(Drip::Fail(error)) => return Err(error),
                            None => return Err(SourceError::Failed("the test hung up".into())),
                        }
                    }
                })
            }
        }
    }
}
