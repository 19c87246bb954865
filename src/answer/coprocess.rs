//! A long-lived coprocess that answers queries over a line protocol.
//!
//! One `sh -c <cmdline>` process (shell syntax allowed) runs for the whole life of
//! the source. For each query we write one line to its stdin — the serialised
//! [`Query`] as a JSON object — and read one line from its stdout:
//!
//! - `{"answer": "…"}` — the answer; optional `"model": "…"` and
//!   `"usage": {"prompt_tokens": N, "completion_tokens": M}` are recorded. A
//!   non-string answer is used as its compact JSON encoding. Unknown fields are
//!   ignored, so a coprocess may echo the query `id` back for its own logging.
//! - `{"error": "…"}` — the query fails with that message; the coprocess stays usable.
//!
//! Replies carry no id, so the only way to pair a reply with its query is order. That
//! is why exactly one request is in flight at a time (a Tokio mutex around the pipes),
//! and why anything that might have put the stream out of step — a line that is not
//! a JSON object, a timeout, the process exiting — marks the coprocess **broken**: it
//! is killed and every later query fails at once with the reason, rather than risk
//! pairing answers with the wrong queries. A query cancelled while its request was
//! out (its future dropped: `ctrl-r`, a failed batch item) is handled too: the next
//! query first finishes writing the request if it was cut part-way (a large prompt
//! and a slow reader), then reads and discards the stale reply. A reply line longer than the maximum answer size
//! (`--max-answer-mb`, default 16 MiB) breaks the coprocess too, and is never held in
//! memory whole. Its stderr is collected in the background
//! into a bounded buffer and its tail is quoted when it exits. The child is killed
//! when the source is dropped.
//!
//! This module spawns one process; it touches no files and no terminal.

use std::process::Stdio;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::command::{describe_exit, stderr_suffix};
use super::query_json_line;
use super::{
    answer_text_from_json, elapsed_ms, format_duration, text_preview, AnswerFuture, AnswerSource,
    OutputTail, RestartFuture, SourceError,
};
use crate::engine::{Answer, AnswerOrigin, Query, Usage};
use crate::limits::{answer_too_large, DEFAULT_MAX_ANSWER_BYTES};

/// How long to wait for a coprocess that closed its stdout to finish exiting and for
/// its last stderr output, before giving up on a clean exit status.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Characters of a malformed reply quoted in the error.
const REPLY_PREVIEW_CHARS: usize = 200;

/// Why the coprocess could not be started.
#[derive(Debug, thiserror::Error)]
pub enum CoprocessError {
    #[error("the answer coprocess must be started from within a Tokio runtime")]
    NoRuntime,
    #[error("could not start answer coprocess `{cmdline}`: {source}")]
    Spawn {
        cmdline: String,
        #[source]
        source: std::io::Error,
    },
}

/// The pipes to the running coprocess; only the holder of the mutex may use them.
struct Channel {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_task: JoinHandle<()>,
    /// Where the last exchange stopped. Anything but `Idle` here means its future was
    /// dropped mid-exchange (the query was cancelled), which the next query must
    /// clean up before the stream is back in step.
    pending: Pending,
    /// Set once the stream can no longer be trusted; the reason, for later queries.
    broken: Option<String>,
}

/// Progress of the exchange that last held the pipes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Idle,
    /// The request was being written when its query was cancelled; its bytes from
    /// `written` on are still to go. The next query writes them (the coprocess then answers a
    /// request nobody waits for, whose reply is discarded), so the stream stays in
    /// step: a `ctrl-r` on a large prompt must not break the coprocess.
    PartialRequest {
        request: Vec<u8>,
        written: usize,
    },
    /// The request was sent but its reply not read: the next line is stale.
    Reply,
}

/// Writes what is left of the request in flight (`Pending::PartialRequest`), keeping
/// count after each write so a cancel at any await leaves a state the next query can
/// resume; flushed, it becomes `Pending::Reply`.
async fn finish_request(channel: &mut Channel) -> std::io::Result<()> {
    let Channel { stdin, pending, .. } = channel;
    if let Pending::PartialRequest { request, written } = pending {
        while *written < request.len() {
            let n = stdin.write(&request[*written..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            *written += n;
        }
        stdin.flush().await?;
        *pending = Pending::Reply;
    }
    Ok(())
}

/// Answers queries through one long-lived process (see the module docs).
pub struct CoprocessSource {
    cmdline: String,
    timeout: Duration,
    max_answer_bytes: usize,
    channel: Mutex<Channel>,
    stderr: Arc<StdMutex<OutputTail>>,
}

impl std::fmt::Debug for CoprocessSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoprocessSource")
            .field("cmdline", &self.cmdline)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl CoprocessSource {
    /// Starts the coprocess. Must be called from within a Tokio runtime; `timeout`
    /// bounds the wait for each reply.
    pub fn spawn(cmdline: &str, timeout: Duration) -> Result<Self, CoprocessError> {
        let stderr = Arc::new(StdMutex::new(OutputTail::default()));
        let channel = open_channel(cmdline, &stderr)?;
        Ok(CoprocessSource {
            cmdline: cmdline.to_string(),
            timeout,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            channel: Mutex::new(channel),
            stderr,
        })
    }

    /// Caps each reply line at `bytes`.
    pub fn with_max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// One request/reply exchange. Latency counts from when this query got the pipes,
    /// not the time spent queued behind other queries.
    async fn exchange(
        &self,
        query_id: String,
        request: Result<String, String>,
    ) -> Result<Answer, SourceError> {
        let request = request.map_err(SourceError::Failed)?;
        let mut channel = self.channel.lock().await;
        if let Some(reason) = &channel.broken {
            return Err(SourceError::Failed(format!(
                "answer coprocess is not usable any more: {reason}"
            )));
        }
        let start = Instant::now();
        let limit = self.max_answer_bytes;
        // `Ok(None)`: a line (the stale one or the reply) passed the limit.
        let io = async {
            if matches!(channel.pending, Pending::PartialRequest { .. }) {
                // Finish the cancelled request first; its reply is then stale.
                finish_request(&mut channel).await?;
            }
            if channel.pending == Pending::Reply {
                // The reply to a cancelled query: read and discard it. EOF here is
                // the process ending, reported below like any EOF.
                let mut stale = Vec::new();
                match read_line_capped(&mut channel.stdout, &mut stale, limit).await? {
                    LineRead::Eof => return Ok(Some(stale)),
                    LineRead::TooLarge => return Ok(None),
                    LineRead::Line => {}
                }
                channel.pending = Pending::Idle;
            }
            channel.pending = Pending::PartialRequest {
                request: request.into_bytes(),
                written: 0,
            };
            finish_request(&mut channel).await?;
            let mut reply = Vec::new();
            if read_line_capped(&mut channel.stdout, &mut reply, limit).await? == LineRead::TooLarge
            {
                return Ok(None);
            }
            channel.pending = Pending::Idle;
            Ok::<_, std::io::Error>(Some(reply))
        };
        let reply = match tokio::time::timeout(self.timeout, io).await {
            Err(_elapsed) => {
                let waited = format_duration(self.timeout);
                self.break_channel(
                    &mut channel,
                    format!("it did not reply to {query_id} within {waited}"),
                )
                .await;
                return Err(SourceError::Timeout(format!(
                    "answer coprocess timed out after {waited} for {query_id}; it has been stopped"
                )));
            }
            Ok(Ok(None)) => {
                let message =
                    answer_too_large(&format!("answer coprocess reply to {query_id}"), limit);
                self.break_channel(&mut channel, message.clone()).await;
                return Err(SourceError::Failed(format!(
                    "{message}; it has been stopped"
                )));
            }
            // A broken pipe on write means the process is gone: report it like EOF.
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => Vec::new(),
            Ok(Err(err)) => {
                let reason = format!("talking to it failed on {query_id}: {err}");
                self.break_channel(&mut channel, reason.clone()).await;
                return Err(SourceError::Failed(format!("answer coprocess: {reason}")));
            }
            Ok(Ok(Some(reply))) => reply,
        };
        if reply.is_empty() {
            let ended = self.wait_for_exit(&mut channel).await;
            channel.broken = Some(format!("it {ended} before answering {query_id}"));
            return Err(SourceError::Failed(format!(
                "answer coprocess {ended} before answering {query_id}{}",
                self.stderr_suffix()
            )));
        }

        let line = String::from_utf8_lossy(&reply);
        let line = line.trim();
        let fields = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(fields)) => fields,
            _ => {
                // Quoted raw: Debug-escaping a JSON-ish line makes it unreadable.
                let shown = if line.is_empty() {
                    "the line was empty".to_string()
                } else {
                    format!("the line was: {}", text_preview(line, REPLY_PREVIEW_CHARS))
                };
                let reason = format!(
                    "it sent a malformed reply to {query_id} (expected one JSON object per \
                     line, like {{\"answer\": \"…\"}}); {shown}"
                );
                self.break_channel(&mut channel, reason.clone()).await;
                return Err(SourceError::Failed(format!(
                    "answer coprocess: {reason}; it has been stopped"
                )));
            }
        };
        drop(channel);
        let mut answer = parse_reply(&fields, &query_id)?;
        answer.latency_ms = elapsed_ms(start);
        Ok(answer)
    }

    /// Marks the coprocess broken and kills it: its replies can no longer be trusted
    /// to line up with our queries.
    async fn break_channel(&self, channel: &mut Channel, reason: String) {
        channel.broken = Some(reason);
        let _ = channel.child.kill().await;
    }

    /// After stdout closed: how the process ended (`exited with status 3`), waiting a
    /// little for it and for its last stderr output so the message is complete.
    async fn wait_for_exit(&self, channel: &mut Channel) -> String {
        let ended = match tokio::time::timeout(EXIT_GRACE, channel.child.wait()).await {
            Ok(Ok(status)) => describe_exit(status),
            Ok(Err(err)) => format!("ended (its status is unknown: {err})"),
            Err(_) => {
                let _ = channel.child.kill().await;
                "closed its stdout".to_string()
            }
        };
        // Stderr reaches EOF once the process (and anything holding the pipe) is gone.
        let _ = tokio::time::timeout(EXIT_GRACE, &mut channel.stderr_task).await;
        ended
    }

    fn stderr_suffix(&self) -> String {
        let tail = self
            .stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        stderr_suffix(&tail)
    }
}

/// Starts the process and its stderr reader (into `stderr`). Needs a Tokio runtime.
fn open_channel(
    cmdline: &str,
    stderr: &Arc<StdMutex<OutputTail>>,
) -> Result<Channel, CoprocessError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| CoprocessError::NoRuntime)?;
    let spawn_error = |source| CoprocessError::Spawn {
        cmdline: cmdline.to_string(),
        source,
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmdline)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)?;
    let missing = |name: &str| {
        spawn_error(std::io::Error::other(format!(
            "no {name} pipe to the child"
        )))
    };
    let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let stderr_pipe = child.stderr.take().ok_or_else(|| missing("stderr"))?;
    let stderr_task = runtime.spawn(collect_stderr(stderr_pipe, Arc::clone(stderr)));
    Ok(Channel {
        child,
        stdin,
        stdout: BufReader::new(stdout),
        stderr_task,
        pending: Pending::Idle,
        broken: None,
    })
}

impl AnswerSource for CoprocessSource {
    fn name(&self) -> &str {
        "coprocess"
    }

    /// Stops the process and starts a fresh one (a new run must not see the state the
    /// last run left in it). If it cannot start, later queries say why.
    fn restart(&self) -> RestartFuture<'_> {
        Box::pin(async move {
            let mut channel = self.channel.lock().await;
            let _ = channel.child.kill().await;
            channel.stderr_task.abort();
            *self
                .stderr
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = OutputTail::default();
            match open_channel(&self.cmdline, &self.stderr) {
                Ok(fresh) => *channel = fresh,
                Err(err) => channel.broken = Some(format!("could not restart: {err}")),
            }
        })
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        let request = query_json_line(query);
        Box::pin(self.exchange(query.id.clone(), request))
    }
}

impl Drop for CoprocessSource {
    fn drop(&mut self) {
        let channel = self.channel.get_mut();
        // kill_on_drop would also do this; being explicit keeps it independent of
        // field drop order and stops the stderr reader even if a grandchild holds
        // the pipe open.
        let _ = channel.child.start_kill();
        channel.stderr_task.abort();
    }
}

/// How a capped line read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineRead {
    /// A line through its newline (or the unterminated last one) is in the buffer.
    Line,
    /// Nothing more: the buffer is empty.
    Eof,
    /// The line passed the limit before its newline; what was read is dropped.
    TooLarge,
}

/// Reads one line (through its `\n`) into `line`, like `read_until`, but stops as soon
/// as the line passes `limit` bytes (its newline not counted), so a reply that never
/// ends cannot exhaust memory.
async fn read_line_capped(
    reader: &mut BufReader<ChildStdout>,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<LineRead> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                LineRead::Eof
            } else {
                LineRead::Line
            });
        }
        let (used, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (available.len(), false),
        };
        let content = line.len() + used - usize::from(complete);
        if content > limit {
            reader.consume(used);
            line.clear();
            return Ok(LineRead::TooLarge);
        }
        line.extend_from_slice(&available[..used]);
        reader.consume(used);
        if complete {
            return Ok(LineRead::Line);
        }
    }
}

/// Reads the coprocess's stderr until EOF, keeping the tail.
async fn collect_stderr(mut stderr: ChildStderr, tail: Arc<StdMutex<OutputTail>>) {
    let mut chunk = [0u8; 4096];
    while let Ok(read) = stderr.read(&mut chunk).await {
        if read == 0 {
            break;
        }
        tail.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(&chunk[..read]);
    }
}

/// Turns a reply object into an answer or the error it reports. Field errors here do
/// not break the coprocess: the line was one whole JSON object, so order is intact.
fn parse_reply(
    fields: &serde_json::Map<String, Value>,
    query_id: &str,
) -> Result<Answer, SourceError> {
    let bad =
        |what: String| SourceError::Failed(format!("answer coprocess reply to {query_id}: {what}"));
    let text = match (fields.get("answer"), fields.get("error")) {
        (Some(_), Some(_)) => return Err(bad("has both \"answer\" and \"error\"".into())),
        (None, Some(Value::String(message))) => return Err(SourceError::Failed(message.clone())),
        (None, Some(other)) => return Err(SourceError::Failed(answer_text_from_json(other))),
        (None, None) => return Err(bad("has neither \"answer\" nor \"error\"".into())),
        (Some(answer), None) => answer_text_from_json(answer),
    };
    let mut answer = Answer::new(text, AnswerOrigin::Command);
    answer.model = match fields.get("model") {
        None | Some(Value::Null) => None,
        Some(Value::String(model)) => Some(model.clone()),
        Some(_) => return Err(bad("\"model\" must be a string".into())),
    };
    answer.usage = match fields.get("usage") {
        None | Some(Value::Null) => None,
        Some(usage) => Some(
            serde_json::from_value::<Usage>(usage.clone()).map_err(|err| {
                bad(format!(
                    "\"usage\" must be {{\"prompt_tokens\": N, \"completion_tokens\": M}}: {err}"
                ))
            })?,
        ),
    };
    Ok(answer)
}

#[cfg(test)]
#[path = "coprocess_tests.rs"]
mod tests;
