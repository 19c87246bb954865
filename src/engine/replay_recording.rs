//! The recording: a transcript read back into its session line, its queries with
//! what became of each (answer, failure, or none), and its end. A torn last line is
//! dropped with a warning; anything else malformed is an error naming the line.
//! Reads only the transcript file it is given.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::StreamKey;
use crate::engine::event::{Answer, Lineage, Query, QueryId, StateSnapshot, Status, TranscriptRef};
use crate::engine::session::{ScriptSpec, SessionConfig};
use crate::engine::transcript::{self, TranscriptError, TranscriptLine};

/// What the recorded run did with a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Answer(Answer),
    /// The query was failed (`query_failed`): `alc.llm` raised this error.
    Failed(String),
}

impl Reply {
    /// The answer text, or the error, as shown in drafts and diffs.
    pub fn text(&self) -> &str {
        match self {
            Reply::Answer(a) => &a.text,
            Reply::Failed(e) => e,
        }
    }
}

/// One recorded query and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedQuery {
    pub query: Query,
    /// 1-based position among all the recording's queries, in file order.
    pub position: usize,
    /// 1-based order within its stream (the main strategy, or one fork child).
    pub order: usize,
    /// `None` when the recorded run ended before it was answered.
    pub reply: Option<Reply>,
}

/// How the recorded run ended (its `end` line).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEnd {
    pub status: Status,
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// A transcript read back for replaying or comparing.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub path: PathBuf,
    /// sha256 of the file's bytes (for `replay_of` / `parent`).
    pub sha256: String,
    pub script: String,
    pub script_sha256: String,
    /// The package name when the run was of a package (`run cot`).
    pub package: Option<String>,
    pub ctx: Value,
    pub seed: u64,
    pub version: Option<String>,
    /// `None`: the transcript predates state snapshots (an older format).
    pub state: Option<StateSnapshot>,
    pub lineage: Lineage,
    pub queries: Vec<RecordedQuery>,
    /// `None`: the recorded run has no `end` line (it was cut off).
    pub end: Option<RecordedEnd>,
    /// Things the reader let pass, to show the person (a torn last line).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(transparent)]
    Transcript(#[from] TranscriptError),
    #[error("{path} is not a transcript: it is empty")]
    Empty { path: PathBuf },
    #[error("{path}:{line}: not a transcript: the first line is `{kind}`, expected `session`")]
    NoSession {
        path: PathBuf,
        line: usize,
        kind: String,
    },
    #[error("{path}:{line}: {msg}")]
    Bad {
        path: PathBuf,
        line: usize,
        msg: String,
    },
}

impl Recording {
    /// Reads a transcript file. A torn last line (a crash while writing it) is
    /// dropped with a warning; any other malformed line is an error naming it.
    pub fn load(path: &Path) -> Result<Recording, RecordingError> {
        let bytes = std::fs::read(path).map_err(|source| TranscriptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        let mut warnings = Vec::new();
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            // A crash can cut a multi-byte character: only in the last line.
            Err(e) if !bytes[e.valid_up_to()..].contains(&b'\n') => {
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                return Err(transcript::read(path).err().map_or_else(
                    || RecordingError::Empty { path: path.into() },
                    RecordingError::from,
                ))
            }
        };
        let (body, torn) = split_torn_tail(text);
        if let Some(line) = torn {
            warnings.push(format!(
                "warning: {}:{line}: the last line is torn (the run was cut off while \
                 writing it); ignored",
                path.display()
            ));
        }
        let lines = transcript::parse(body, path)?;
        let mut recording = Recording::from_lines(path, sha256, &lines)?;
        recording.warnings = warnings;
        Ok(recording)
    }

    /// Builds a recording from parsed lines (see [`transcript::parse`]).
    pub fn from_lines(
        path: &Path,
        sha256: String,
        lines: &[TranscriptLine],
    ) -> Result<Recording, RecordingError> {
        let bad = |line: usize, msg: String| RecordingError::Bad {
            path: path.to_path_buf(),
            line,
            msg,
        };
        let first = lines
            .first()
            .ok_or_else(|| RecordingError::Empty { path: path.into() })?;
        if first.kind != "session" {
            return Err(RecordingError::NoSession {
                path: path.into(),
                line: first.line_no,
                kind: first.kind.clone(),
            });
        }
        let field = |name: &str| first.field(name).cloned();
        let string = |name: &str| -> Result<String, RecordingError> {
            first
                .str_field(name)
                .map(str::to_string)
                .ok_or_else(|| bad(first.line_no, format!("session line: `{name}` missing")))
        };
        let state = match field("state") {
            None => None,
            Some(v) => Some(serde_json::from_value::<StateSnapshot>(v).map_err(|e| {
                bad(
                    first.line_no,
                    format!("session line: the `state` snapshot is corrupt: {e}"),
                )
            })?),
        };
        let mut recording = Recording {
            path: path.to_path_buf(),
            sha256,
            script: string("script")?,
            script_sha256: string("script_sha256")?,
            package: first.str_field("package").map(str::to_string),
            ctx: field("ctx").unwrap_or_else(|| serde_json::json!({})),
            seed: first
                .field("seed")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(first.line_no, "session line: `seed` missing".into()))?,
            version: first.str_field("version").map(str::to_string),
            state,
            lineage: serde_json::from_value(first.data.clone()).unwrap_or_default(),
            queries: Vec::new(),
            end: None,
            warnings: Vec::new(),
        };
        let mut by_id: HashMap<QueryId, usize> = HashMap::new();
        let mut orders: HashMap<StreamKey, usize> = HashMap::new();
        for line in &lines[1..] {
            match line.kind.as_str() {
                "query" => {
                    let query: Query = serde_json::from_value(line.data.clone())
                        .map_err(|e| bad(line.line_no, format!("bad query line: {e}")))?;
                    let order = orders.entry(query.fork.clone()).or_default();
                    *order += 1;
                    by_id.insert(query.id.clone(), recording.queries.len());
                    recording.queries.push(RecordedQuery {
                        position: recording.queries.len() + 1,
                        order: *order,
                        query,
                        reply: None,
                    });
                }
                "answer" | "query_failed" => {
                    let id = line.str_field("id").unwrap_or_default();
                    let index = *by_id.get(id).ok_or_else(|| {
                        bad(
                            line.line_no,
                            format!("{} for `{id}`, which was never asked", line.kind),
                        )
                    })?;
                    let reply = if line.kind == "answer" {
                        Reply::Answer(
                            serde_json::from_value(line.data.clone())
                                .map_err(|e| bad(line.line_no, format!("bad answer line: {e}")))?,
                        )
                    } else {
                        Reply::Failed(line.str_field("error").unwrap_or_default().to_string())
                    };
                    recording.queries[index].reply = Some(reply);
                }
                "end" => {
                    let status = serde_json::from_value(
                        line.field("status").cloned().unwrap_or(Value::Null),
                    )
                    .map_err(|e| bad(line.line_no, format!("bad end line: `status`: {e}")))?;
                    recording.end = Some(RecordedEnd {
                        status,
                        result: line.field("result").cloned().filter(|v| !v.is_null()),
                        error: line
                            .field("error")
                            .and_then(|e| e.get("message"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    });
                }
                _ => {}
            }
        }
        Ok(recording)
    }

    /// The script as recorded: the package when it was one, else the file.
    pub fn script_spec(&self) -> ScriptSpec {
        match &self.package {
            Some(name) => ScriptSpec::Package(name.clone()),
            None => ScriptSpec::File(PathBuf::from(&self.script)),
        }
    }

    /// A session config that runs `script` as the recording ran: its ctx and seed,
    /// `alc.state` in `state_dir` (a [`ScratchState`]), `replay_of` naming this file.
    pub fn session_config(&self, script: ScriptSpec, state_dir: &Path) -> SessionConfig {
        let mut config = SessionConfig::new(script);
        config.ctx = self.ctx.clone();
        config.seed = Some(self.seed);
        config.state_dir = Some(state_dir.to_path_buf());
        config.lineage.replay_of = Some(TranscriptRef {
            path: self.path.display().to_string(),
            sha256: self.sha256.clone(),
        });
        config
    }

    /// How many recorded queries have an answer (or a recorded failure).
    pub fn replies(&self) -> usize {
        self.queries.iter().filter(|q| q.reply.is_some()).count()
    }

    /// The recorded query at a 1-based position.
    pub fn at(&self, position: usize) -> Option<&RecordedQuery> {
        position.checked_sub(1).and_then(|i| self.queries.get(i))
    }
}

/// Splits off a last line that is not newline-terminated and not valid JSON: what a
/// crash in the middle of a write leaves. Returns the text before it and its line number.
fn split_torn_tail(text: &str) -> (&str, Option<usize>) {
    let cut = text.rfind('\n').map_or(0, |i| i + 1);
    let tail = &text[cut..];
    if tail.trim().is_empty() || serde_json::from_str::<Value>(tail).is_ok() {
        return (text, None);
    }
    let line = text[..cut].matches('\n').count() + 1;
    (&text[..cut], Some(line))
}
