//! A person answering at a plain terminal (no TUI), for `run --answers stdin`-style use.
//!
//! Each query is shown on **stderr** — stdout is reserved for the run's result JSON —
//! as a header (`── q-3 · demo/cot.lua:13 · max 200 tokens ──`, plus batch position
//! and fork name when present), the system prompt if any, and the prompt. The answer
//! is read from stdin line by line until a line that is exactly `.` or end of input
//! (Ctrl-D). The answer is the lines read, joined with `\n`, without the terminator.
//!
//! Reading is blocking, so it happens on one dedicated thread that owns the reader
//! and writer. Queries reach it through a channel in the order `answer` is called,
//! so a batch is asked in index order and two prompts never interleave. A query
//! whose future was dropped before its turn (cancelled) is skipped, not asked.
//!
//! This module touches only the reader and writer it is given (by default the
//! process's stdin and stderr).

use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::{describe_query, elapsed_ms, AnswerFuture, AnswerSource, SourceError};
use crate::engine::{Answer, AnswerOrigin, Query};

/// One query handed to the terminal thread, with where to send the result.
struct Request {
    query: Query,
    reply: oneshot::Sender<Result<Answer, SourceError>>,
}

/// Asks a person at a plain terminal (see the module docs).
pub struct StdinSource {
    /// Sending is synchronous, so requests are queued in `answer` call order.
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for StdinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdinSource").finish_non_exhaustive()
    }
}

impl Default for StdinSource {
    fn default() -> Self {
        Self::new()
    }
}

impl StdinSource {
    /// Reads answers from the process's stdin and writes prompts to its stderr.
    pub fn new() -> Self {
        Self::with_io(std::io::BufReader::new(std::io::stdin()), std::io::stderr())
    }

    /// Reads answers from `reader` and writes prompts to `writer` (for tests, or
    /// another terminal). The thread ends when the source is dropped and it is not
    /// blocked in a read.
    pub fn with_io(
        reader: impl BufRead + Send + 'static,
        writer: impl Write + Send + 'static,
    ) -> Self {
        let (sender, receiver) = mpsc::channel::<Request>();
        let mut terminal = Terminal {
            reader: Box::new(reader),
            writer: Box::new(writer),
        };
        std::thread::Builder::new()
            .name("alc-stdin-answers".into())
            .spawn(move || {
                for request in receiver {
                    if request.reply.is_closed() {
                        continue;
                    }
                    let result = terminal.ask(&request.query);
                    // The asker may have gone away meanwhile; nothing to do then.
                    let _ = request.reply.send(result);
                }
            })
            // Without the thread no query can be answered; `answer` reports that.
            .ok();
        StdinSource { requests: sender }
    }
}

impl AnswerSource for StdinSource {
    fn name(&self) -> &str {
        "stdin"
    }

    fn answered_by_person(&self) -> bool {
        true
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        let (reply, result) = oneshot::channel();
        let request = Request {
            query: query.clone(),
            reply,
        };
        let sent = self.requests.send(request);
        let id = query.id.clone();
        Box::pin(async move {
            let lost =
                || SourceError::Failed(format!("the terminal reader stopped: no answer for {id}"));
            if sent.is_err() {
                return Err(lost());
            }
            result.await.unwrap_or_else(|_| Err(lost()))
        })
    }
}

/// The reader and writer, owned by the terminal thread.
struct Terminal {
    reader: Box<dyn BufRead + Send>,
    writer: Box<dyn Write + Send>,
}

impl Terminal {
    fn ask(&mut self, query: &Query) -> Result<Answer, SourceError> {
        // Prompt write failures (stderr closed) must not stop the person answering.
        let _ = self.show(query);
        let start = Instant::now();
        let mut lines: Vec<String> = Vec::new();
        let mut ended_by_dot = false;
        let mut raw = Vec::new();
        loop {
            raw.clear();
            let read = self.reader.read_until(b'\n', &mut raw).map_err(|err| {
                SourceError::Failed(format!(
                    "could not read answer for {} from stdin: {err}",
                    query.id
                ))
            })?;
            if read == 0 {
                break;
            }
            let line = String::from_utf8_lossy(&raw);
            let line = line
                .strip_suffix('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l))
                .unwrap_or(&line);
            if line == "." {
                ended_by_dot = true;
                break;
            }
            lines.push(line.to_string());
        }
        if lines.is_empty() && !ended_by_dot {
            return Err(SourceError::Failed(format!(
                "stdin closed: no answer for {}",
                query.id
            )));
        }
        let mut answer = Answer::new(lines.join("\n"), AnswerOrigin::Human);
        answer.latency_ms = elapsed_ms(start);
        Ok(answer)
    }

    fn show(&mut self, query: &Query) -> std::io::Result<()> {
        let w = &mut self.writer;
        writeln!(w)?;
        writeln!(w, "── {} ──", describe_query(query))?;
        if let Some(system) = &query.system {
            writeln!(w, "System: {system}")?;
            writeln!(w)?;
        }
        writeln!(w, "{}", query.prompt)?;
        writeln!(w)?;
        writeln!(
            w,
            "Answer (end with a line containing only \".\" or Ctrl-D):"
        )?;
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BatchPos, Site};
    use std::io::{Cursor, Read};
    use std::sync::{Arc, Mutex};

    /// A writer whose contents the test can read after the thread wrote them.
    #[derive(Clone, Default)]
    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("writer lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl SharedWriter {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("writer lock")).into_owned()
        }
    }

    fn query(id: &str, prompt: &str) -> Query {
        Query {
            max_tokens_capped: None,
            id: id.into(),
            prompt: prompt.into(),
            system: None,
            max_tokens: 200,
            grounded: false,
            underspecified: false,
            site: Some(Site {
                file: "demo/cot.lua".into(),
                line: 13,
            }),
            batch: None,
            fork: None,
        }
    }

    fn source(input: &str) -> (StdinSource, SharedWriter) {
        let writer = SharedWriter::default();
        let source = StdinSource::with_io(Cursor::new(input.as_bytes().to_vec()), writer.clone());
        (source, writer)
    }

    #[tokio::test]
    async fn reads_lines_until_a_dot_and_shows_the_query_on_the_writer() {
        let (source, writer) = source("first line\n  second .\n\n.\nnext\n");
        let mut q = query("q-3", "Think step by step.");
        q.system = Some("You are careful.".into());
        let answer = source.answer(&q).await.expect("answered");
        assert_eq!(answer.text, "first line\n  second .\n");
        assert_eq!(answer.source, AnswerOrigin::Human);
        assert_eq!(
            writer.text(),
            "\n── q-3 · demo/cot.lua:13 · max 200 tokens ──\nSystem: You are careful.\n\n\
             Think step by step.\n\nAnswer (end with a line containing only \".\" or Ctrl-D):\n"
        );
        // The rest of the input answers the next query: EOF ends it.
        assert_eq!(
            source.answer(&query("q-4", "p")).await.expect("eof").text,
            "next"
        );
    }

    #[tokio::test]
    async fn header_shows_batch_and_fork() {
        let (source, writer) = source(".\n");
        let mut q = query("q-5", "p");
        q.batch = Some(BatchPos { index: 1, size: 5 });
        q.fork = Some("critic".into());
        assert_eq!(source.answer(&q).await.expect("empty answer").text, "");
        assert!(
            writer.text().contains(
                "── q-5 · demo/cot.lua:13 · max 200 tokens · batch 2 of 5 · fork critic ──"
            ),
            "{}",
            writer.text()
        );
    }

    #[tokio::test]
    async fn eof_with_nothing_typed_fails() {
        let (source, _writer) = source("");
        assert_eq!(
            source.answer(&query("q-3", "p")).await,
            Err(SourceError::Failed(
                "stdin closed: no answer for q-3".into()
            ))
        );
    }

    #[tokio::test]
    async fn crlf_and_a_partial_last_line() {
        let (source, _writer) = source("a\r\n.\r\nb");
        assert_eq!(
            source.answer(&query("q-1", "p")).await.expect("a").text,
            "a"
        );
        assert_eq!(
            source.answer(&query("q-2", "p")).await.expect("b").text,
            "b"
        );
    }

    #[tokio::test]
    async fn invalid_utf8_is_converted_lossily() {
        let writer = SharedWriter::default();
        let source = StdinSource::with_io(Cursor::new(b"caf\xe9\n.\n".to_vec()), writer);
        assert_eq!(
            source.answer(&query("q-1", "p")).await.expect("lossy").text,
            "caf\u{fffd}"
        );
    }

    #[tokio::test]
    async fn queries_are_asked_in_call_order_even_if_awaited_out_of_order() {
        let (source, writer) = source("one\n.\ntwo\n.\nthree\n.\n");
        let (q1, q2, q3) = (query("q-1", "P1"), query("q-2", "P2"), query("q-3", "P3"));
        let f1 = source.answer(&q1);
        let f2 = source.answer(&q2);
        let f3 = source.answer(&q3);
        assert_eq!(f3.await.expect("q-3").text, "three");
        assert_eq!(f1.await.expect("q-1").text, "one");
        assert_eq!(f2.await.expect("q-2").text, "two");
        let shown = writer.text();
        let p1 = shown.find("P1").expect("P1 shown");
        let p2 = shown.find("P2").expect("P2 shown");
        let p3 = shown.find("P3").expect("P3 shown");
        assert!(p1 < p2 && p2 < p3, "{shown}");
    }

    /// Input that arrives only when the test sends it, like a person typing.
    struct TypedInput {
        chunks: mpsc::Receiver<Vec<u8>>,
        buffer: Vec<u8>,
        position: usize,
    }

    impl Read for TypedInput {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for TypedInput {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            if self.position == self.buffer.len() {
                // A closed channel is end of input.
                if let Ok(chunk) = self.chunks.recv() {
                    self.buffer = chunk;
                    self.position = 0;
                }
            }
            Ok(&self.buffer[self.position..])
        }
        fn consume(&mut self, amount: usize) {
            self.position = (self.position + amount).min(self.buffer.len());
        }
    }

    #[tokio::test]
    async fn a_query_dropped_before_its_turn_is_not_asked() {
        let (typing, chunks) = mpsc::channel();
        let writer = SharedWriter::default();
        let input = TypedInput {
            chunks,
            buffer: Vec::new(),
            position: 0,
        };
        let source = StdinSource::with_io(input, writer.clone());
        let (q1, q2, q3) = (
            query("q-1", "FIRST"),
            query("q-2", "CANCELLED"),
            query("q-3", "KEPT"),
        );
        // q-1 holds the terminal until its answer is typed, so q-2 is still queued
        // when its future is dropped.
        let first = source.answer(&q1);
        drop(source.answer(&q2));
        let third = source.answer(&q3);
        typing.send(b"one\n.\n".to_vec()).expect("typing");
        assert_eq!(first.await.expect("q-1").text, "one");
        typing.send(b"three\n.\n".to_vec()).expect("typing");
        assert_eq!(third.await.expect("q-3").text, "three");
        let shown = writer.text();
        assert!(shown.contains("FIRST") && shown.contains("KEPT"), "{shown}");
        assert!(!shown.contains("CANCELLED"), "{shown}");
    }

    #[test]
    fn name() {
        let (source, _writer) = source("");
        assert_eq!(source.name(), "stdin");
    }
}
