//! Replay and time travel, engine side: a transcript read back as a [`Recording`], and
//! a [`ReplayCursor`] that answers a new run's queries from it while they still match.
//!
//! Matching is by position, per stream: the main strategy is one stream and every
//! `alc.fork` child (by package name) is another, because children run concurrently
//! and their queries interleave differently in every run. The n-th query of a stream
//! matches the n-th recorded query of the same stream when its prompt, system,
//! max_tokens, grounded/underspecified flags and batch position are the same (the call
//! site is not compared: an edit above a call moves its line without changing what it
//! asks). The first query that does not match ends the replay for the whole run: it is
//! the [`Divergence`], and it and every later query go to the live answer source.
//!
//! Rewind (`until`) and what-if (`hold`) are positions in the recording (1-based, file
//! order): `until(n)` replays recorded queries 1..=n and then stops; `hold(k)` hands
//! query k to the person (its old answer as the draft) and goes on replaying after it.
//!
//! Comparing two transcripts query by query is in `replay_diff.rs`; the scratch state
//! directory a replay runs on is `replay_state.rs`. This room reads the transcript
//! file it is given and the recorded namespace, writes only its scratch directory
//! under the system temp dir, and runs nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::event::{Answer, Lineage, Query, QueryId, StateSnapshot, Status, TranscriptRef};
use super::session::{ScriptSpec, SessionConfig};
use super::transcript::{self, TranscriptError, TranscriptLine};

#[path = "replay_diff.rs"]
mod diff;
#[path = "replay_state.rs"]
mod scratch;
pub use diff::{diff, unified_diff, Change, QueryDiff, RecordingDiff};
pub use scratch::ScratchState;

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

/// The stream a query belongs to: `None` for the main strategy, else the fork child.
pub type StreamKey = Option<String>;

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

/// A field of a query that a replay compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryField {
    Prompt,
    System,
    MaxTokens,
    Grounded,
    Underspecified,
    Batch,
}

impl QueryField {
    pub fn label(self) -> &'static str {
        match self {
            QueryField::Prompt => "prompt",
            QueryField::System => "system",
            QueryField::MaxTokens => "max_tokens",
            QueryField::Grounded => "grounded",
            QueryField::Underspecified => "underspecified",
            QueryField::Batch => "batch",
        }
    }
}

/// The fields in which `new` differs from `recorded`, in the order above.
pub fn changed_fields(recorded: &Query, new: &Query) -> Vec<QueryField> {
    let checks = [
        (QueryField::Prompt, recorded.prompt == new.prompt),
        (QueryField::System, recorded.system == new.system),
        (QueryField::MaxTokens, recorded.max_tokens == new.max_tokens),
        (QueryField::Grounded, recorded.grounded == new.grounded),
        (
            QueryField::Underspecified,
            recorded.underspecified == new.underspecified,
        ),
        (QueryField::Batch, recorded.batch == new.batch),
    ];
    checks
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(f, _)| f)
        .collect()
}

/// Why a new query does not take its recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The recorded query at this place asked something else.
    Changed(Vec<QueryField>),
    /// The recording has no more queries in this stream.
    Beyond,
    /// The query comes from a fork child the recording never ran.
    UnknownFork,
    /// The recorded run never answered this query (it ended there).
    Unanswered,
}

/// The first query of a new run that does not match the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The new query.
    pub query: Query,
    /// The recorded query at the same place, if there is one.
    pub recorded: Option<RecordedQuery>,
    /// Position in the recording (of `recorded`; one past the end when beyond it).
    pub position: usize,
    pub mismatch: Mismatch,
}

impl Divergence {
    /// `q-K (query K)`, with the fork child when the query is from one.
    pub fn place(&self) -> String {
        let mut s = format!("{} (query {}", self.query.id, self.position);
        if let Some(fork) = &self.query.fork {
            s.push_str(&format!(", fork child {fork}"));
        }
        s.push(')');
        s
    }

    /// What differs, in a few words.
    pub fn reason(&self) -> String {
        match &self.mismatch {
            Mismatch::Changed(fields) => {
                let rec = self.recorded.as_ref().map(|r| &r.query);
                match (
                    fields.as_slice(),
                    rec.and_then(|r| r.batch),
                    self.query.batch,
                ) {
                    ([QueryField::Batch, ..], Some(old), Some(new)) if old.size != new.size => {
                        format!(
                            "a recorded batch of {} replayed against a batch of {}",
                            old.size, new.size
                        )
                    }
                    _ => {
                        let names: Vec<_> = fields.iter().map(|f| f.label()).collect();
                        format!("{} changed", names.join(", "))
                    }
                }
            }
            Mismatch::Beyond => match &self.query.fork {
                Some(fork) => format!("the recording has no more queries from fork child {fork}"),
                None => "the recording has no more queries".into(),
            },
            Mismatch::UnknownFork => format!(
                "fork child {} is not in the recording",
                self.query.fork.as_deref().unwrap_or("?")
            ),
            Mismatch::Unanswered => "the recorded run never answered it (it ended there)".into(),
        }
    }
}

/// Why a replay stopped answering from the recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Diverged(Box<Divergence>),
    /// `until(n)` reached: recorded query n was the last one replayed.
    Until(usize),
}

/// What to do with one new query.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Answer it with the recorded reply (`source: "replay"`).
    Replay(Reply),
    /// Hand it to the live source (or the person). `draft`: the recorded answer at
    /// this place, offered as the draft. `stopped`: set on the query where the replay
    /// stopped (once); later queries carry `None`.
    Handover {
        draft: Option<String>,
        stopped: Option<Stop>,
    },
}

/// One stream's recorded queries (indices into `Recording::queries`) and how many of
/// them the new run has asked so far.
#[derive(Debug, Default)]
struct Stream {
    recorded: Vec<usize>,
    asked: usize,
}

/// Answers a new run's queries from a [`Recording`] while they match. Not `Sync` by
/// itself: a driver shares it behind a mutex, and must step it in the order queries
/// are handed over (batch index order).
#[derive(Debug)]
pub struct ReplayCursor {
    recording: std::sync::Arc<Recording>,
    streams: HashMap<StreamKey, Stream>,
    until: Option<usize>,
    hold: Option<usize>,
    stop: Option<Stop>,
    replayed: usize,
}

impl ReplayCursor {
    pub fn new(recording: std::sync::Arc<Recording>) -> Self {
        let mut streams: HashMap<StreamKey, Stream> = HashMap::new();
        for (i, q) in recording.queries.iter().enumerate() {
            streams
                .entry(q.query.fork.clone())
                .or_default()
                .recorded
                .push(i);
        }
        ReplayCursor {
            recording,
            streams,
            until: None,
            hold: None,
            stop: None,
            replayed: 0,
        }
    }

    /// Rewind: replay recorded queries 1..=n only (`n = 0`: none).
    pub fn until(mut self, n: usize) -> Self {
        self.until = Some(n);
        self
    }

    /// What-if: recorded query `k` waits for the person (old answer as the draft);
    /// queries after it are replayed again while they match.
    pub fn hold(mut self, k: usize) -> Self {
        self.hold = Some(k);
        self
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Answers replayed so far.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// Why the replay stopped, once it has.
    pub fn stopped(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// Decides the fate of the next query of its stream.
    pub fn next(&mut self, query: &Query) -> Step {
        let already_stopped = self.stop.is_some();
        let stream = self.streams.entry(query.fork.clone()).or_default();
        stream.asked += 1;
        let recorded = stream
            .recorded
            .get(stream.asked - 1)
            .map(|&i| &self.recording.queries[i]);
        let draft = recorded
            .and_then(|r| r.reply.as_ref())
            .map(|r| r.text().to_string());
        if already_stopped {
            return Step::Handover {
                draft,
                stopped: None,
            };
        }
        let fork_known = stream.asked > 1 || !stream.recorded.is_empty();
        let diverge = |mismatch, recorded: Option<&RecordedQuery>, total: usize| {
            Stop::Diverged(Box::new(Divergence {
                query: query.clone(),
                position: recorded.map_or(total + 1, |r| r.position),
                recorded: recorded.cloned(),
                mismatch,
            }))
        };
        let total = self.recording.queries.len();
        let stop = match recorded {
            None if query.fork.is_some() && !fork_known => {
                diverge(Mismatch::UnknownFork, None, total)
            }
            None => diverge(Mismatch::Beyond, None, total),
            Some(rec) => {
                if self.until.is_some_and(|n| rec.position > n) {
                    Stop::Until(self.until.unwrap_or_default())
                } else {
                    let fields = changed_fields(&rec.query, query);
                    match (&rec.reply, fields.is_empty()) {
                        (_, false) => diverge(Mismatch::Changed(fields), Some(rec), total),
                        (None, true) => diverge(Mismatch::Unanswered, Some(rec), total),
                        (Some(_), true) if self.hold == Some(rec.position) => {
                            return Step::Handover {
                                draft,
                                stopped: None,
                            }
                        }
                        (Some(reply), true) => {
                            self.replayed += 1;
                            return Step::Replay(reply.clone());
                        }
                    }
                }
            }
        };
        self.stop = Some(stop.clone());
        Step::Handover {
            draft,
            stopped: Some(stop),
        }
    }

    /// Recorded queries the new run never asked, in file order (the run took another
    /// path, or a fork child no longer runs).
    pub fn unasked(&self) -> Vec<&RecordedQuery> {
        let mut left: Vec<&RecordedQuery> = self
            .streams
            .values()
            .flat_map(|s| s.recorded.iter().skip(s.asked))
            .map(|&i| &self.recording.queries[i])
            .collect();
        left.sort_by_key(|q| q.position);
        left
    }

    /// Fork children of the recording that asked nothing in the new run.
    pub fn silent_forks(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .streams
            .iter()
            .filter(|(k, s)| k.is_some() && s.asked == 0 && !s.recorded.is_empty())
            .filter_map(|(k, _)| k.clone())
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
