//! Trace pane state: every session event as a compact entry (time, kind, a short head,
//! the full text), a kind filter with an index of the entries it lets through, and a
//! cursor that follows the tail unless the person scrolls. No I/O.
//!
//! Entries are stored flat (two boxed strings each, no event structs) so 100k of them
//! stay small, and drawing only ever touches the rows on screen.

use crate::engine::{AnswerOrigin, LogLevel, SessionEvent, Stamped, Status, CUT_OFF_MARK};

/// The kind of one trace entry; decides the glyph, the colour and the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    Session,
    Query,
    Answer,
    QueryFailed,
    Resumed,
    Log(LogLevel),
    Progress,
    Stat,
    State,
    End(Status),
}

impl TraceKind {
    /// ▸ a question, ◂ an answer, ✗ something failed, ■ the end, · the rest.
    pub fn glyph(self) -> &'static str {
        match self {
            TraceKind::Query => "▸",
            TraceKind::Answer => "◂",
            TraceKind::QueryFailed | TraceKind::Log(LogLevel::Error) => "✗",
            TraceKind::End(Status::Failed) => "✗",
            TraceKind::End(_) => "■",
            _ => "·",
        }
    }

    pub fn is_error(self) -> bool {
        matches!(
            self,
            TraceKind::QueryFailed
                | TraceKind::Log(LogLevel::Error)
                | TraceKind::End(Status::Failed)
        )
    }
}

/// Which kinds the trace shows; cycled with the filter key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceFilter {
    #[default]
    All,
    Llm,
    Logs,
    Errors,
    Other,
}

impl TraceFilter {
    pub fn label(self) -> &'static str {
        match self {
            TraceFilter::All => "all",
            TraceFilter::Llm => "llm",
            TraceFilter::Logs => "logs",
            TraceFilter::Errors => "errors",
            TraceFilter::Other => "other",
        }
    }

    pub fn next(self) -> Self {
        match self {
            TraceFilter::All => TraceFilter::Llm,
            TraceFilter::Llm => TraceFilter::Logs,
            TraceFilter::Logs => TraceFilter::Errors,
            TraceFilter::Errors => TraceFilter::Other,
            TraceFilter::Other => TraceFilter::All,
        }
    }

    pub fn admits(self, kind: TraceKind) -> bool {
        match self {
            TraceFilter::All => true,
            TraceFilter::Llm => matches!(
                kind,
                TraceKind::Query | TraceKind::Answer | TraceKind::QueryFailed
            ),
            TraceFilter::Logs => matches!(kind, TraceKind::Log(_)),
            TraceFilter::Errors => kind.is_error(),
            TraceFilter::Other => matches!(
                kind,
                TraceKind::Session
                    | TraceKind::Resumed
                    | TraceKind::Progress
                    | TraceKind::Stat
                    | TraceKind::State
                    | TraceKind::End(_)
            ),
        }
    }
}

/// One row of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    pub t_ms: u64,
    pub kind: TraceKind,
    /// Short label: `q-1`, `q-1 you`, `info`…
    pub head: Box<str>,
    /// The whole text; its line `summary_at` is the row's summary.
    pub body: Box<str>,
    /// Which line of `body` the row shows: the first, or for a query the first line of
    /// its prompt that differs from the previous query's (what tells them apart).
    pub summary_at: u32,
}

impl TraceEntry {
    pub fn summary(&self) -> &str {
        self.body
            .lines()
            .nth(self.summary_at as usize)
            .or_else(|| self.body.lines().next())
            .unwrap_or("")
    }
}

/// The line of `prompt` that tells it apart from `previous`: the first line that
/// differs (skipping blank ones), else its last line; the first line when there is no
/// previous prompt.
pub fn distinguishing_line(previous: Option<&str>, prompt: &str) -> usize {
    let Some(previous) = previous else {
        return 0;
    };
    let mut old = previous.lines();
    let lines: Vec<&str> = prompt.lines().collect();
    let first_change = lines.iter().position(|l| old.next() != Some(*l));
    let at = match first_change {
        Some(i) => (i..lines.len())
            .find(|&k| !lines[k].trim().is_empty())
            .unwrap_or(i),
        None => lines.len().saturating_sub(1),
    };
    at.min(lines.len().saturating_sub(1))
}

/// What the Trace pane shows.
#[derive(Debug, Default, Clone)]
pub struct TracePane {
    entries: Vec<TraceEntry>,
    filter: TraceFilter,
    /// Entry indexes admitted by `filter` (unused for `All`).
    shown: Vec<u32>,
    /// Position in the filtered view of the selected row.
    cursor: usize,
    /// First row on screen when not following.
    top: usize,
    /// Stick to the newest entry.
    pub follow: bool,
    /// The last search (`/`), for the next and previous match keys.
    pub search: Option<String>,
    /// The latest query's prompt, to find what the next one changes.
    last_prompt: Option<String>,
}

/// Formats milliseconds as `mm:ss.t`.
pub fn clock(t_ms: u64) -> String {
    let tenths = t_ms / 100;
    format!(
        "{:02}:{:02}.{}",
        tenths / 600,
        (tenths / 10) % 60,
        tenths % 10
    )
}

impl TracePane {
    pub fn new() -> Self {
        TracePane {
            follow: true,
            ..Default::default()
        }
    }

    pub fn clear(&mut self) {
        *self = TracePane::new();
    }

    pub fn filter(&self) -> TraceFilter {
        self.filter
    }

    /// Number of entries the filter lets through.
    pub fn len(&self) -> usize {
        match self.filter {
            TraceFilter::All => self.entries.len(),
            _ => self.shown.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn total(&self) -> usize {
        self.entries.len()
    }

    /// The n-th entry of the filtered view.
    pub fn get(&self, n: usize) -> Option<&TraceEntry> {
        match self.filter {
            TraceFilter::All => self.entries.get(n),
            _ => self
                .shown
                .get(n)
                .and_then(|&i| self.entries.get(i as usize)),
        }
    }

    pub fn push(&mut self, entry: TraceEntry) {
        if self.filter != TraceFilter::All && self.filter.admits(entry.kind) {
            self.shown.push(self.entries.len() as u32);
        }
        self.entries.push(entry);
    }

    /// Appends the entries of one session event.
    pub fn record(&mut self, stamped: &Stamped) {
        let mut entries = entries_of(stamped);
        if let SessionEvent::Paused { queries, .. } = &stamped.event {
            for (entry, q) in entries.iter_mut().zip(queries) {
                let line = distinguishing_line(self.last_prompt.as_deref(), &q.prompt);
                entry.summary_at = line.min(u32::MAX as usize) as u32;
                self.last_prompt = Some(q.prompt.clone());
            }
        }
        for entry in entries {
            self.push(entry);
        }
    }

    pub fn cycle_filter(&mut self) {
        self.set_filter(self.filter.next());
    }

    pub fn set_filter(&mut self, filter: TraceFilter) {
        self.filter = filter;
        self.shown = match filter {
            TraceFilter::All => Vec::new(),
            _ => (0..self.entries.len())
                .filter(|&i| filter.admits(self.entries[i].kind))
                .map(|i| i as u32)
                .collect(),
        };
        self.follow = true;
        self.top = 0;
        self.cursor = 0;
    }

    /// The selected row in the filtered view.
    pub fn cursor(&self) -> Option<usize> {
        let len = self.len();
        if len == 0 {
            None
        } else if self.follow {
            Some(len - 1)
        } else {
            Some(self.cursor.min(len - 1))
        }
    }

    /// The rows on screen for a pane `height` rows high: `start..end` of the view.
    pub fn window(&self, height: usize) -> (usize, usize) {
        let len = self.len();
        let start = if self.follow {
            len.saturating_sub(height)
        } else {
            self.top.min(len.saturating_sub(1))
        };
        (start, (start + height).min(len))
    }

    /// Moves the cursor by `delta` rows; reaching the last row resumes following.
    pub fn move_cursor(&mut self, delta: isize, height: usize) {
        let len = self.len();
        if len == 0 {
            return;
        }
        let from = self.cursor().unwrap_or(0);
        if self.follow {
            self.top = len.saturating_sub(height);
        }
        let to = from.saturating_add_signed(delta).min(len - 1);
        self.cursor = to;
        self.follow = delta >= 0 && to == len - 1;
        if to < self.top {
            self.top = to;
        } else if height > 0 && to >= self.top + height {
            self.top = to + 1 - height;
        }
    }

    /// Moves the cursor to the next (or previous) entry, wrapping around, whose head or
    /// text contains `query` (ignoring case). False when none does.
    pub fn find(&mut self, query: &str, forward: bool, height: usize) -> bool {
        let len = self.len();
        if len == 0 || query.is_empty() {
            return false;
        }
        let needle = query.to_lowercase();
        let matches = |e: &TraceEntry| {
            e.head.to_lowercase().contains(&needle) || e.body.to_lowercase().contains(&needle)
        };
        let from = self.cursor().unwrap_or(0);
        let found = (1..=len)
            .map(|k| {
                if forward {
                    (from + k) % len
                } else {
                    (from + len - k % len) % len
                }
            })
            .find(|&n| self.get(n).is_some_and(matches));
        let Some(to) = found else {
            return false;
        };
        let current = self.cursor().unwrap_or(0) as isize;
        self.move_cursor(to as isize - current, height);
        // Landing on the last row must not turn following back on: the match stays put.
        self.follow = false;
        self.cursor = to;
        true
    }

    pub fn jump(&mut self, top: bool, height: usize) {
        if top {
            self.follow = false;
            self.cursor = 0;
            self.top = 0;
        } else {
            self.follow = true;
            self.top = self.len().saturating_sub(height);
        }
    }
}

/// Renders one session event as trace entries (a pause gives one entry per query).
pub fn entries_of(stamped: &Stamped) -> Vec<TraceEntry> {
    let t_ms = stamped.t_ms;
    let one = |kind: TraceKind, head: String, body: String| {
        vec![TraceEntry {
            t_ms,
            kind,
            head: head.into(),
            body: body.into(),
            summary_at: 0,
        }]
    };
    match &stamped.event {
        SessionEvent::Debug(_) => Vec::new(),
        SessionEvent::Started {
            script, ctx, seed, ..
        } => one(
            TraceKind::Session,
            "session".into(),
            format!("{script}  seed {seed}  ctx {ctx}"),
        ),
        SessionEvent::Paused { queries, .. } => queries
            .iter()
            .map(|q| {
                let mut body = q.prompt.clone();
                body.push_str("\n\n");
                if let Some(system) = &q.system {
                    body.push_str(&format!("system: {system}\n"));
                }
                body.push_str(&format!("max_tokens: {}", q.max_tokens));
                if let Some(cap) = q.max_tokens_capped {
                    body.push_str(&format!(" (capped to {cap}: the token budget's share)"));
                }
                if let Some(site) = &q.site {
                    body.push_str(&format!("\nsite: {site}"));
                }
                if let Some(b) = q.batch {
                    body.push_str(&format!("\nbatch: {} of {}", b.index + 1, b.size));
                }
                if let Some(fork) = &q.fork {
                    body.push_str(&format!("\nfork: {fork}"));
                }
                TraceEntry {
                    t_ms,
                    kind: TraceKind::Query,
                    head: format!("llm {}", q.id).into(),
                    body: body.into(),
                    summary_at: 0,
                }
            })
            .collect(),
        SessionEvent::Answered { id, answer } => {
            let who = if answer.source == AnswerOrigin::Human {
                "you"
            } else {
                answer.source.label()
            };
            let mut body = format!("{}\n\nsource: {}", answer.text, answer.source.label());
            if let Some(note) = answer.cut_off_note() {
                body.push_str(&format!("\n{note}"));
            } else if let Some(finish) = &answer.finish {
                body.push_str(&format!("\nfinish: {finish}"));
            }
            if let Some(model) = &answer.model {
                body.push_str(&format!("\nmodel: {model}"));
            }
            if let Some(served) = answer
                .served_model
                .as_ref()
                .filter(|s| Some(*s) != answer.model.as_ref())
            {
                body.push_str(&format!("\nserved by: {served}"));
            }
            if let Some(u) = answer.usage {
                body.push_str(&format!(
                    "\nusage: {} prompt + {} completion tokens",
                    u.prompt_tokens, u.completion_tokens
                ));
            }
            body.push_str(&format!("\nlatency: {} ms", answer.latency_ms));
            let head = match answer.is_cut_off() {
                true => format!("{id} {who} {CUT_OFF_MARK}"),
                false => format!("{id} {who}"),
            };
            one(TraceKind::Answer, head, body)
        }
        SessionEvent::QueryFailed { id, error } => one(
            TraceKind::QueryFailed,
            format!("{id} failed"),
            error.clone(),
        ),
        SessionEvent::Resumed { pause } => one(
            TraceKind::Resumed,
            "resumed".into(),
            format!("pause {pause}"),
        ),
        SessionEvent::Log { level, msg } => {
            one(TraceKind::Log(*level), level.label().into(), msg.clone())
        }
        SessionEvent::Progress { step, total, msg } => one(
            TraceKind::Progress,
            "progress".into(),
            match msg {
                Some(m) => format!("{step}/{total} {m}"),
                None => format!("{step}/{total}"),
            },
        ),
        SessionEvent::Stat { key, value } => {
            one(TraceKind::Stat, "stat".into(), format!("{key} = {value}"))
        }
        SessionEvent::State { ns, key, op } => {
            one(TraceKind::State, "state".into(), format!("{op} {ns}.{key}"))
        }
        SessionEvent::Finished(outcome) => {
            let body = outcome.result_text();
            one(
                TraceKind::End(outcome.status),
                outcome.status.label().into(),
                body,
            )
        }
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
