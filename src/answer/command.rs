//! A shell command run once per query.
//!
//! Contract, kept deliberately simple so any script can be an answer source:
//!
//! - The command line runs as `sh -c <cmdline>`, so shell syntax (pipes, quoting,
//!   `$VARS`, `&&`) is allowed.
//! - Its stdin receives the query as one JSON object (the serialised [`Query`]: `id`,
//!   `prompt`, `system`, `max_tokens`, `grounded`, `underspecified`, `site`, and
//!   `batch` / `fork` / `max_tokens_capped` when present) followed by a newline, then
//!   stdin is closed.
//! - Its stdout, read to the end, **is** the answer text, with one trailing newline
//!   removed (all other whitespace is kept). Output beyond the maximum answer size
//!   (`--max-answer-mb`, default 16 MiB) fails the query at once and the command is
//!   killed: it is never read into memory whole. Stdout is not parsed as JSON: a command
//!   that prints `{"answer": …}` answers with that JSON text. Non-UTF-8 output is
//!   converted lossily.
//! - It must exit with status 0; otherwise the query fails with the status and the
//!   tail of its stderr.
//! - If it has not finished within the timeout it is killed and the query fails.
//!   Only the `sh` process itself is killed; use `exec` in the command line when the
//!   real program should receive the kill directly.
//!
//! This module spawns processes; it touches no files and no terminal.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};

use super::query_json_line;
use super::{elapsed_ms, format_duration, AnswerFuture, AnswerSource, OutputTail, SourceError};
use crate::engine::{Answer, AnswerOrigin, Query};
use crate::limits::{answer_too_large, DEFAULT_MAX_ANSWER_BYTES};

/// Runs a shell command for every query (see the module docs for the contract).
#[derive(Debug, Clone)]
pub struct CommandSource {
    cmdline: String,
    timeout: Duration,
    max_answer_bytes: usize,
}

impl CommandSource {
    pub fn new(cmdline: &str, timeout: Duration) -> Self {
        CommandSource {
            cmdline: cmdline.to_string(),
            timeout,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }

    /// Caps the answer (the command's stdout) at `bytes`.
    pub fn with_max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn run(
        &self,
        query_id: String,
        request: Result<String, String>,
    ) -> Result<Answer, SourceError> {
        let request = request.map_err(SourceError::Failed)?;
        let start = Instant::now();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.cmdline)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // If this future is dropped (the query was cancelled), the child goes too.
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| {
                SourceError::Failed(format!(
                    "could not start answer command `{}`: {err}",
                    self.cmdline
                ))
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();

        // Writing, reading stdout and reading stderr run together: a command that
        // prints a lot before reading its input must not deadlock against us. Output
        // over the limit stops all three at once (try_join), whatever the child does.
        let limit = self.max_answer_bytes;
        let exchange = async {
            let io = tokio::try_join!(
                async {
                    write_request(stdin, &request).await;
                    Ok(())
                },
                read_capped(stdout, limit),
                async { Ok(read_tail(stderr).await) }
            );
            match io {
                Ok(((), stdout, stderr)) => Ok((stdout, stderr, child.wait().await)),
                Err(failure) => Err(failure),
            }
        };
        let (stdout, stderr, status) = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(finished)) => finished,
            Ok(Err(failure)) => {
                let _ = child.kill().await;
                return Err(SourceError::Failed(match failure {
                    ReadFailure::TooLarge => {
                        answer_too_large(&format!("answer command output for {query_id}"), limit)
                    }
                    ReadFailure::Io(err) => format!("could not read answer command output: {err}"),
                }));
            }
            Err(_elapsed) => {
                // Explicit kill (and reap) rather than waiting for the drop, so the
                // process is gone by the time the failure is reported.
                let _ = child.kill().await;
                return Err(SourceError::Timeout(format!(
                    "answer command timed out after {} for {query_id}",
                    format_duration(self.timeout)
                )));
            }
        };

        let status = status.map_err(|err| {
            SourceError::Failed(format!("could not wait for answer command: {err}"))
        })?;
        if !status.success() {
            return Err(SourceError::Failed(format!(
                "answer command {}{}",
                describe_exit(status),
                stderr_suffix(&stderr)
            )));
        }
        let mut answer = Answer::new(answer_text(&stdout), AnswerOrigin::Command);
        answer.latency_ms = elapsed_ms(start);
        Ok(answer)
    }
}

impl AnswerSource for CommandSource {
    fn name(&self) -> &str {
        "command"
    }

    fn answer<'a>(&'a self, query: &Query) -> AnswerFuture<'a> {
        let request = query_json_line(query);
        Box::pin(self.run(query.id.clone(), request))
    }
}

/// Writes the request and closes stdin. A command that exits without reading its
/// input makes the write fail with a broken pipe; that is its choice, not an error —
/// its exit status and output decide the outcome.
async fn write_request(stdin: Option<ChildStdin>, request: &str) {
    if let Some(mut stdin) = stdin {
        let _ = stdin.write_all(request.as_bytes()).await;
        let _ = stdin.shutdown().await;
    }
}

/// Why stdout could not be taken as the answer.
#[derive(Debug)]
enum ReadFailure {
    /// More than the maximum answer size.
    TooLarge,
    Io(std::io::Error),
}

/// Reads a stream to its end, failing as soon as it passes `limit` bytes: memory stays
/// bounded by the limit, whatever the command prints.
async fn read_capped(
    stream: Option<impl AsyncRead + Unpin>,
    limit: usize,
) -> Result<Vec<u8>, ReadFailure> {
    let mut bytes = Vec::new();
    let Some(mut stream) = stream else {
        return Ok(bytes);
    };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = stream.read(&mut chunk).await.map_err(ReadFailure::Io)?;
        if read == 0 {
            return Ok(bytes);
        }
        if bytes.len() + read > limit {
            return Err(ReadFailure::TooLarge);
        }
        bytes.extend_from_slice(&chunk[..read]);
    }
}

/// Reads a stream to its end keeping only the tail, for error messages.
pub(crate) async fn read_tail(stream: Option<impl AsyncRead + Unpin>) -> OutputTail {
    let mut tail = OutputTail::default();
    if let Some(mut stream) = stream {
        let mut chunk = [0u8; 4096];
        while let Ok(read) = stream.read(&mut chunk).await {
            if read == 0 {
                break;
            }
            tail.push(&chunk[..read]);
        }
    }
    tail
}

/// Stdout as answer text: lossy UTF-8, one trailing newline (`\n` or `\r\n`) removed.
fn answer_text(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    text.to_string()
}

/// `exited with status 3` or, on Unix, `was killed by signal 9`.
pub(crate) fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    format!("ended with {status}")
}

/// `: <stderr tail>` or ` (no stderr output)`.
pub(crate) fn stderr_suffix(stderr: &OutputTail) -> String {
    let text = stderr.text();
    if text.is_empty() {
        " (no stderr output)".to_string()
    } else {
        format!(": {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BatchPos, Site};

    fn query(id: &str, prompt: &str) -> Query {
        Query {
            max_tokens_capped: None,
            id: id.into(),
            prompt: prompt.into(),
            system: Some("be brief".into()),
            max_tokens: 64,
            grounded: true,
            underspecified: false,
            site: Some(Site {
                file: "demo/cot.lua".into(),
                line: 13,
            }),
            batch: Some(BatchPos { index: 0, size: 2 }),
            fork: None,
        }
    }

    fn source(cmdline: &str) -> CommandSource {
        CommandSource::new(cmdline, Duration::from_secs(20))
    }

    #[tokio::test]
    async fn stdout_is_the_answer_with_one_newline_trimmed() {
        let answer = source("printf '  two lines\\n  kept  \\n\\n'")
            .answer(&query("q-1", "p"))
            .await
            .expect("answers");
        assert_eq!(answer.text, "  two lines\n  kept  \n");
        assert_eq!(answer.source, AnswerOrigin::Command);
        assert_eq!(answer.model, None);
        assert_eq!(answer.usage, None);
    }

    #[tokio::test]
    async fn stdin_carries_the_query_as_one_json_line() {
        let answer = source("cat").answer(&query("q-9", "Say \"hi\"\nnow")).await;
        let text = answer.expect("cat echoes").text;
        assert!(!text.contains('\n'), "one line: {text}");
        let echoed: Query = serde_json::from_str(&text).expect("query JSON");
        assert_eq!(echoed, query("q-9", "Say \"hi\"\nnow"));
        let fields: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(fields["batch"]["size"], 2);
        assert_eq!(fields["site"]["line"], 13);
        assert!(fields.get("fork").is_none());
    }

    #[tokio::test]
    async fn shell_syntax_is_allowed() {
        let answer = source("X=world; read -r line; echo \"hello $X\" | tr a-z A-Z")
            .answer(&query("q-1", "p"))
            .await;
        assert_eq!(answer.expect("answers").text, "HELLO WORLD");
    }

    #[tokio::test]
    async fn commands_that_ignore_stdin_still_answer() {
        let big_prompt = "x".repeat(1 << 20);
        let answer = source("echo fixed")
            .answer(&query("q-1", &big_prompt))
            .await;
        assert_eq!(answer.expect("answers").text, "fixed");
    }

    #[tokio::test]
    async fn non_zero_exit_fails_with_status_and_stderr() {
        let err = source("echo partial; echo 'model overloaded' >&2; exit 3")
            .answer(&query("q-1", "p"))
            .await
            .expect_err("fails");
        assert_eq!(
            err,
            SourceError::Failed("answer command exited with status 3: model overloaded".into())
        );
        let err = source("exit 1").answer(&query("q-2", "p")).await;
        assert_eq!(
            err,
            Err(SourceError::Failed(
                "answer command exited with status 1 (no stderr output)".into()
            ))
        );
    }

    #[tokio::test]
    async fn long_stderr_is_cut_to_its_tail() {
        let err =
            source("i=0; while [ $i -lt 3000 ]; do echo \"err $i\" >&2; i=$((i+1)); done; exit 2")
                .answer(&query("q-1", "p"))
                .await
                .expect_err("fails");
        let SourceError::Failed(message) = err else {
            panic!("expected Failed, got {err:?}");
        };
        assert!(message.starts_with("answer command exited with status 2: …"));
        assert!(message.ends_with("err 2999"), "{message}");
        assert!(message.chars().count() < 2100, "{}", message.len());
    }

    #[tokio::test]
    async fn killed_by_signal_is_reported() {
        let err = source("kill -9 $$").answer(&query("q-1", "p")).await;
        assert_eq!(
            err,
            Err(SourceError::Failed(
                "answer command was killed by signal 9 (no stderr output)".into()
            ))
        );
    }

    #[tokio::test]
    async fn slow_command_times_out() {
        let slow = CommandSource::new("exec sleep 30", Duration::from_millis(200));
        let started = Instant::now();
        let err = slow.answer(&query("q-3", "p")).await;
        assert_eq!(
            err,
            Err(SourceError::Timeout(
                "answer command timed out after 200ms for q-3".into()
            ))
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn output_over_the_limit_fails_at_once_and_kills_the_command() {
        // `yes` never ends by itself: only the limit (not the 20 s timeout) stops it.
        let capped = source("exec yes answer").with_max_answer_bytes(1024 * 1024);
        let started = Instant::now();
        let err = capped.answer(&query("q-4", "p")).await;
        assert_eq!(
            err,
            Err(SourceError::Failed(
                "answer command output for q-4 exceeded the maximum answer size of \
                 1 MiB (raise it with --max-answer-mb)"
                    .into()
            ))
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        // Exactly at the limit is still an answer.
        let at_limit = source("head -c 1000 /dev/zero | tr '\\0' x")
            .with_max_answer_bytes(1000)
            .answer(&query("q-5", "p"))
            .await;
        assert_eq!(at_limit.expect("answers").text.len(), 1000);
    }

    #[tokio::test]
    async fn non_utf8_output_is_lossy() {
        let answer = source("printf 'ok \\377\\n'")
            .answer(&query("q-1", "p"))
            .await;
        assert_eq!(answer.expect("answers").text, "ok \u{fffd}");
    }

    #[tokio::test]
    async fn missing_program_is_a_failure_from_the_shell() {
        let err = source("definitely-not-a-program-alc")
            .answer(&query("q-1", "p"))
            .await;
        let Err(SourceError::Failed(message)) = err else {
            panic!("expected Failed, got {err:?}");
        };
        assert!(
            message.starts_with("answer command exited with status 127: "),
            "{message}"
        );
        assert!(
            message.contains("definitely-not-a-program-alc"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn queries_run_concurrently_and_independently() {
        let source = source(
            "read -r line; printf '%s' \"$line\" | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/'",
        );
        let (q1, q2, q3) = (query("q-1", "a"), query("q-2", "b"), query("q-3", "c"));
        let (a1, a2, a3) = tokio::join!(source.answer(&q1), source.answer(&q2), source.answer(&q3));
        let answers: Vec<String> = [a1, a2, a3]
            .into_iter()
            .map(|answer| answer.expect("answers").text)
            .collect();
        let expected = ["q-1", "q-2", "q-3"];
        assert_eq!(answers, expected);
    }

    #[test]
    fn answer_text_trims_exactly_one_newline() {
        assert_eq!(answer_text(b"a\n\n"), "a\n");
        assert_eq!(answer_text(b"a\r\n"), "a");
        assert_eq!(answer_text(b"a"), "a");
        assert_eq!(answer_text(b" a \n"), " a ");
        assert_eq!(answer_text(b""), "");
    }

    #[test]
    fn name_and_accessors() {
        let source = CommandSource::new("echo hi", Duration::from_secs(30));
        assert_eq!(source.name(), "command");
        assert_eq!(source.cmdline(), "echo hi");
        assert_eq!(source.timeout(), Duration::from_secs(30));
    }
}
