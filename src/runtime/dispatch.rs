//! Hands queries to the answer source, off the loop task. One task owns the source and
//! calls `answer_streaming` in the order queries are handed over (a source that takes
//! answers from a sequence relies on that order), then drives all the requests at once
//! (a provider limits its own concurrency). Streamed pieces and replies go back to the
//! loop as messages tagged with the session generation and the hand-over number they
//! belong to. A request nobody waits for any more is dropped, not left to finish:
//! dropping a provider's future closes its HTTP connection, which is how a server
//! (llama-server, vLLM, the hosted APIs) learns to stop generating. Touches nothing
//! but the source and the loop's channel.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::{AbortHandle, Abortable};
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
        request: u64,
    },
    /// Drop one request (the person stopped waiting for it).
    Drop { id: String, request: u64 },
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

    pub(super) fn ask(&self, generation: u64, query: Query, request: u64) {
        let _ = self.jobs.send(Job::Ask {
            generation,
            query,
            request,
        });
    }

    /// Cancels hand-over `request` of query `id`, if it is still in flight.
    pub(super) fn drop_request(&self, id: String, request: u64) {
        let _ = self.jobs.send(Job::Drop { id, request });
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
    // How to stop each request in flight, by query and hand-over number.
    let mut handles: HashMap<(String, u64), AbortHandle> = HashMap::new();
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                None => break, // the loop is gone
                Some(Job::Drop { id, request }) => {
                    if let Some(handle) = handles.remove(&(id, request)) {
                        handle.abort();
                    }
                }
                Some(Job::DropAll) => {
                    in_flight.clear();
                    handles.clear();
                }
                Some(Job::Restart) => {
                    in_flight.clear();
                    handles.clear();
                    source.restart().await;
                }
                Some(Job::Ask { generation, query, request }) => {
                    let sink = stream_sink(generation, query.id.clone(), request, out.clone());
                    let (handle, registration) = AbortHandle::new_pair();
                    let future = Abortable::new(source.answer_streaming(&query, sink), registration);
                    let id = query.id;
                    handles.insert((id.clone(), request), handle);
                    in_flight.push(async move { (generation, id, request, future.await) });
                }
            },
            Some((generation, id, request, result)) = in_flight.next(), if !in_flight.is_empty() => {
                // An aborted request was dropped on its next poll: nobody wants its end.
                let Ok(result) = result else { continue };
                handles.remove(&(id.clone(), request));
                let _ = out.send((generation, Msg::SourceReply { id, request, result }));
            }
        }
    }
}

/// Forwards each streamed piece of `id`'s answer to the loop.
fn stream_sink(
    generation: u64,
    id: String,
    request: u64,
    out: UnboundedSender<(u64, Msg)>,
) -> TextSink {
    Arc::new(move |piece: &str| {
        if !piece.is_empty() {
            let _ = out.send((
                generation,
                Msg::StreamText {
                    id: id.clone(),
                    request,
                    text: piece.to_string(),
                },
            ));
        }
    })
}
