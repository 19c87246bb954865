//! JSON Lines transcripts: writing a session's events to disk and reading them back.
//!
//! The format is a contract (DESIGN.md, "Files on disk"): every line is
//! `{"seq": n, "t_ms": ms, "event": KIND, …fields}`. Field names never change; new
//! fields may be added. This module touches only the transcript file it is given (and
//! creates its parent directories).
//!
//! `seq` in the file is the **line sequence** (1 for the first line, +1 per line), not
//! the engine's event sequence: one `Paused` event becomes one `query` line per query,
//! and each line needs its own increasing `seq`. So the writer keeps its own counter
//! and ignores [`Stamped::seq`]; `seq` always equals the 1-based line number in a file
//! written by [`TranscriptWriter`].
//!
//! Writing is in `transcript_writer.rs` (what a transcript guarantees when the disk
//! fails); this file holds the line format and the reader.
//!
//! Extra fields beyond DESIGN.md's table: `query` lines carry `pause` (the pause they
//! belong to) and `Resumed` events are written as `resumed {pause}` lines, so a reader
//! can tell which queries were answered together.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::event::{Query, SessionEvent, Stamped};

#[path = "transcript_writer.rs"]
mod writer;
pub use writer::{TranscriptSink, TranscriptWriter, WriteError, WriteStep};

/// Serialises one line with `seq`, `t_ms` and `event` first (readable with `head`),
/// whatever order `serde_json::Map` keeps keys in.
fn write_line(
    out: &mut impl Write,
    seq: u64,
    t_ms: u64,
    kind: &str,
    fields: &[(&str, Value)],
) -> io::Result<()> {
    write!(out, "{{\"seq\":{seq},\"t_ms\":{t_ms},\"event\":")?;
    serde_json::to_writer(&mut *out, kind)?;
    for (name, value) in fields {
        out.write_all(b",")?;
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b"}\n")
}

/// The JSON objects one event becomes, in file order. `seq` is `ev.seq` on every line
/// here; [`TranscriptWriter`] writes its own line sequence instead (see module docs).
pub fn event_lines(ev: &Stamped) -> Vec<Value> {
    line_fields(&ev.event)
        .into_iter()
        .map(|(kind, fields)| {
            let mut object = Map::new();
            object.insert("seq".into(), json!(ev.seq));
            object.insert("t_ms".into(), json!(ev.t_ms));
            object.insert("event".into(), json!(kind));
            for (name, value) in fields {
                object.insert(name.to_string(), value);
            }
            Value::Object(object)
        })
        .collect()
}

type Fields = Vec<(&'static str, Value)>;

/// Kind and fields (without `seq`/`t_ms`/`event`) of each line for one event.
fn line_fields(event: &SessionEvent) -> Vec<(&'static str, Fields)> {
    let kind = event.kind();
    let single = |fields: Fields| vec![(kind, fields)];
    match event {
        SessionEvent::Started {
            script,
            script_sha256,
            ctx,
            seed,
            package,
            state,
            lineage,
        } => {
            let mut fields = vec![
                ("script", json!(script)),
                ("script_sha256", json!(script_sha256)),
                ("ctx", ctx.clone()),
                ("seed", json!(seed)),
                ("version", json!(env!("CARGO_PKG_VERSION"))),
                ("state", to_json(state)),
            ];
            if let Some(package) = package {
                fields.push(("package", json!(package)));
            }
            if let Some(of) = &lineage.replay_of {
                fields.push(("replay_of", to_json(of)));
            }
            if let Some(parent) = &lineage.parent {
                fields.push(("parent", to_json(parent)));
            }
            if let Some(at) = &lineage.branch_at {
                fields.push(("branch_at", json!(at)));
            }
            single(fields)
        }
        SessionEvent::Paused { pause, queries } => {
            // Batch members are written in index order whatever order they came in.
            let mut ordered: Vec<&Query> = queries.iter().collect();
            ordered.sort_by_key(|q| q.batch.map(|b| b.index));
            ordered
                .into_iter()
                .map(|q| (kind, query_fields(q, *pause)))
                .collect()
        }
        SessionEvent::Answered { id, answer } => {
            let mut fields = vec![
                ("id", json!(id)),
                ("text", json!(answer.text)),
                ("source", json!(answer.source.label())),
                ("model", json!(answer.model)),
                ("usage", to_json(&answer.usage)),
                ("latency_ms", json!(answer.latency_ms)),
                ("provider", json!(answer.provider)),
            ];
            // Added fields: absent rather than null when the source did not say.
            if let Some(finish) = &answer.finish {
                fields.push(("finish", json!(finish)));
            }
            if let Some(served) = &answer.served_model {
                fields.push(("served_model", json!(served)));
            }
            single(fields)
        }
        SessionEvent::QueryFailed { id, error } => {
            single(vec![("id", json!(id)), ("error", json!(error))])
        }
        SessionEvent::Resumed { pause } => single(vec![("pause", json!(pause))]),
        SessionEvent::Log { level, msg } => {
            single(vec![("level", json!(level.label())), ("msg", json!(msg))])
        }
        SessionEvent::Progress { step, total, msg } => single(vec![
            ("step", json!(step)),
            ("total", json!(total)),
            ("msg", json!(msg)),
        ]),
        SessionEvent::Stat { key, value } => {
            single(vec![("key", json!(key)), ("value", value.clone())])
        }
        SessionEvent::State { ns, key, op } => single(vec![
            ("ns", json!(ns)),
            ("key", json!(key)),
            ("op", json!(op)),
        ]),
        SessionEvent::Debug(_) => Vec::new(),
        SessionEvent::Finished(outcome) => single(vec![
            ("status", json!(outcome.status.label())),
            ("result", outcome.result.clone().unwrap_or(Value::Null)),
            ("error", to_json(&outcome.error)),
            ("metrics", to_json(&outcome.metrics)),
        ]),
    }
}

fn query_fields(q: &Query, pause: u64) -> Fields {
    let mut fields = vec![
        ("id", json!(q.id)),
        ("prompt", json!(q.prompt)),
        ("system", json!(q.system)),
        ("max_tokens", json!(q.max_tokens)),
        ("grounded", json!(q.grounded)),
        ("underspecified", json!(q.underspecified)),
        ("site", to_json(&q.site)),
    ];
    if let Some(batch) = q.batch {
        fields.push(("batch", json!({"index": batch.index, "size": batch.size})));
    }
    if let Some(fork) = &q.fork {
        fields.push(("fork", json!(fork)));
    }
    if let Some(cap) = q.max_tokens_capped {
        fields.push(("max_tokens_capped", json!(cap)));
    }
    fields.push(("pause", json!(pause)));
    fields
}

/// Serialises the engine's plain-data types. They have string keys and no custom
/// serialisers, so this cannot fail; `null` is the harmless answer if it ever did.
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One line read back from a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptLine {
    /// 1-based physical line number in the file.
    pub line_no: usize,
    pub seq: u64,
    pub t_ms: u64,
    /// The `event` field: `session`, `query`, `answer`, …
    pub kind: String,
    /// The whole object, `seq`/`t_ms`/`event` included.
    pub data: Value,
}

impl TranscriptLine {
    /// A field of the line, if present.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.data.get(name)
    }

    /// A string field, if present and a string.
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(Value::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    #[error("transcript {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("transcript {path}:{line}: {msg}")]
    Malformed {
        path: PathBuf,
        line: usize,
        msg: String,
    },
}

/// Reads and checks a transcript file (see [`parse`]).
pub fn read(path: &Path) -> Result<Vec<TranscriptLine>, TranscriptError> {
    let bytes = fs::read(path).map_err(|source| TranscriptError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        TranscriptError::Malformed {
            path: path.to_path_buf(),
            line,
            msg: "not valid UTF-8".into(),
        }
    })?;
    parse(&text, path)
}

/// Parses transcript text. Each non-blank line must be a JSON object with a
/// non-negative integer `seq` and `t_ms` and a string `event`; anything else is
/// [`TranscriptError::Malformed`] naming its 1-based line. Blank lines (such as the
/// trailing one after the final newline) are skipped; `\r\n` endings are accepted.
/// Kind-specific fields are not checked here: readers take what they need from `data`.
pub fn parse(text: &str, path_for_messages: &Path) -> Result<Vec<TranscriptLine>, TranscriptError> {
    let malformed = |line: usize, msg: String| TranscriptError::Malformed {
        path: path_for_messages.to_path_buf(),
        line,
        msg,
    };
    let mut lines = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let data: Value = serde_json::from_str(raw).map_err(|e| {
            // serde_json appends "at line 1 column N"; within one line only the column
            // means anything, and the line is reported separately.
            let full = e.to_string();
            let reason = full.split(" at line ").next().unwrap_or(&full);
            malformed(
                line_no,
                format!("bad JSON at column {}: {reason}", e.column()),
            )
        })?;
        let Some(object) = data.as_object() else {
            return Err(malformed(line_no, "expected a JSON object".into()));
        };
        let seq = required_u64(object, "seq").map_err(|msg| malformed(line_no, msg))?;
        let t_ms = required_u64(object, "t_ms").map_err(|msg| malformed(line_no, msg))?;
        let kind = match object.get("event") {
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => return Err(malformed(line_no, "`event` must be a string".into())),
            None => return Err(malformed(line_no, "missing `event`".into())),
        };
        lines.push(TranscriptLine {
            line_no,
            seq,
            t_ms,
            kind,
            data,
        });
    }
    Ok(lines)
}

fn required_u64(object: &Map<String, Value>, name: &str) -> Result<u64, String> {
    match object.get(name) {
        None => Err(format!("missing `{name}`")),
        // Name the type, not the value: a wrong value could be a 10 MB string.
        Some(value) => value.as_u64().ok_or_else(|| {
            let found = match value {
                Value::Number(_) => "a negative or fractional number",
                Value::String(_) => "a string",
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            };
            format!("`{name}` must be a non-negative integer, found {found}")
        }),
    }
}

#[cfg(test)]
#[path = "transcript_tests.rs"]
mod tests;
