//! Hands queries to the answer source, off the loop task. One task owns the source and
//! calls `answer_streaming` in the order queries are handed over (a source that takes
//! answers from a sequence relies on that order), then drives all the requests at once
//! (a provider limits its own concurrency). Streamed pieces and replies go back to the
//! loop as messages tagged with the session generation they belong to. Touches nothing
//! but the source and the loop's channel.

use std::sync::Arc;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::answer::{AnswerSource, TextSink};
use crate::app::Msg;
use crate::engine::Query;

/// What the loop asks of the dispatcher.
enum Job {
    Ask {
        generation: u64,
        query: Query,
    },
    /// Drop every request in flight (the session they were for is gone).
    DropAll,
    /// Drop every request in flight and start the source over (a re-run).
    Restart,
}

/// The loop's handle on the dispatcher task.
pub(super) struct Dispatcher {
    jobs: UnboundedSender<Job>,
}

impl Dispatcher {
    /// Starts the dispatcher task (needs a tokio runtime); replies go to `out`.
    pub(super) fn spawn(source: Arc<dyn AnswerSource>, out: UnboundedSender<(u64, Msg)>) -> Self {
        let (jobs, rx) = unbounded_channel();
        tokio::spawn(run(source, rx, out));
        Dispatcher { jobs }
    }

    pub(super) fn ask(&self, generation: u64, query: Query) {
        let _ = self.jobs.send(Job::Ask { generation, query });
    }

    /// Cancels the requests in flight (dropping a provider's future drops its HTTP call).
    pub(super) fn drop_all(&self) {
        let _ = self.jobs.send(Job::DropAll);
    }

    /// Cancels the requests in flight and starts the source over (an answers file from
    /// its top, a fresh coprocess), before any query of the new run is handed over.
    pub(super) fn restart(&self) {
        let _ = self.jobs.send(Job::Restart);
    }
}

async fn run(
    source: Arc<dyn AnswerSource>,
    mut jobs: UnboundedReceiver<Job>,
    out: UnboundedSender<(u64, Msg)>,
) {
    let source: &dyn AnswerSource = &*source;
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                None => break, // the loop is gone
                Some(Job::DropAll) => in_flight.clear(),
                Some(Job::Restart) => {
                    in_flight.clear();
                    source.restart().await;
                }
                Some(Job::Ask { generation, query }) => {
                    let sink = stream_sink(generation, query.id.clone(), out.clone());
                    let request = source.answer_streaming(&query, sink);
                    let id = query.id;
                    in_flight.push(async move { (generation, id, request.await) });
                }
            },
            Some((generation, id, result)) = in_flight.next(), if !in_flight.is_empty() => {
                let _ = out.send((generation, Msg::SourceReply { id, result }));
            }
        }
    }
}

/// Forwards each streamed piece of `id`'s answer to the loop.
fn stream_sink(generation: u64, id: String, out: UnboundedSender<(u64, Msg)>) -> TextSink {
    Arc::new(move |piece: &str| {
        if !piece.is_empty() {
            let _ = out.send((
                generation,
                Msg::StreamText {
                    id: id.clone(),
                    text: piece.to_string(),
                },
            ));
        }
    })
}
