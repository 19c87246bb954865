//! Pending pane state: the queries the strategy waits on, one answer editor per query,
//! which one is shown ("k of N"), the prompt scroll, and what an answer source is doing
//! with each query (why it has it, the text streamed so far, a review draft, a
//! failure). No I/O.

use std::borrow::Cow;

use ratatui_textarea::{CursorMove, TextArea, WrapMode};

use super::large::{LargeAnswer, LARGE_ANSWER_BYTES};
use super::wrap::PromptRows;

use crate::engine::{Answer, Query, QueryId};

/// Who is dealing with a query right now.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryStatus {
    /// Waiting for the person at the keyboard.
    ForYou,
    /// Handed to a non-person source (named), no reply yet.
    Asking(String),
    /// The source answered; the answer was sent to the session.
    Answered { source: String, text: String },
    /// The person answered a query of a batch whose other queries still wait for them:
    /// the answer is kept here, revisable, and goes to the session with the last one
    /// (the strategy resumes only then).
    Held(Answer),
    /// The person sent an answer; waiting for the session to confirm.
    Sent,
}

/// Why a query was handed to the answer source: decides what its reply does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// Auto mode: the reply is sent at once; a failure follows `on_provider_error`.
    Auto,
    /// Review mode: the reply becomes a draft in the editor.
    Review,
    /// A one-off `forward` by the person: the reply is sent at once; a failure comes
    /// back to the person (they are there).
    Forward,
}

/// A query's state as the batch markers show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryPhase {
    /// Waiting for the person, no source involved.
    You,
    /// Handed to the source, nothing arrived yet.
    Waiting,
    /// Text is arriving.
    Streaming,
    /// Answered, sent, or drafted for review.
    Done,
    /// Answered by the person, held until the batch's last answer.
    Held,
    /// The source failed it.
    Failed,
}

impl QueryPhase {
    pub fn label(self) -> &'static str {
        match self {
            QueryPhase::You => "for you",
            QueryPhase::Waiting => "waiting",
            QueryPhase::Streaming => "streaming",
            QueryPhase::Done => "done",
            QueryPhase::Held => "held",
            QueryPhase::Failed => "failed",
        }
    }

    /// One narrow character for the compact row of a batch's markers.
    pub fn marker(self) -> char {
        match self {
            QueryPhase::You => '·',
            QueryPhase::Waiting => '○',
            QueryPhase::Streaming => '◐',
            QueryPhase::Done => '●',
            QueryPhase::Held => '◆',
            QueryPhase::Failed => '✗',
        }
    }
}

/// One waiting query and its answer editor.
#[derive(Debug, Clone)]
pub struct PendingQuery {
    pub query: Query,
    pub editor: TextArea<'static>,
    pub status: QueryStatus,
    /// A note to show above the editor (a source's error, a failed send).
    pub note: Option<String>,
    /// Session time (ms) the query was asked at, for the answer's latency.
    pub asked_at_ms: u64,
    /// The pause (batch, fork) it was asked in: its answers go to the session together.
    pub pause: u64,
    /// Why the source has it (while `Asking`).
    pub handoff: Option<Handoff>,
    /// Number of the latest hand-over to the source (0: never handed over). Replies
    /// carry the number they answer, so a late one is never taken for a newer one.
    pub request: u64,
    /// Text streamed in so far for the current request.
    pub streamed: String,
    /// The source's answer put in the editor for review; kept to tell "accepted as is"
    /// from "edited" and to carry model, usage and latency.
    pub draft: Option<Answer>,
    /// The source's error, when it gave up on this query.
    pub failed: Option<String>,
    /// The system prompt and prompt wrapped for the pane, kept for the width it was
    /// last shown at (see `wrap`).
    pub rows: Option<PromptRows>,
    /// The session was told this query is ready for the person (their time from then).
    pub person_ready_sent: bool,
    /// The answer while it is too large for the editor (shown read-only; the editor
    /// is empty then): the one place its text is.
    pub large: Option<LargeAnswer>,
}

/// An empty answer editor, as every query's starts.
pub fn empty_editor() -> TextArea<'static> {
    let mut editor = TextArea::default();
    editor.set_placeholder_text("type the answer…");
    editor.set_wrap_mode(WrapMode::WordOrGlyph);
    editor
}

impl PendingQuery {
    pub fn new(query: Query, status: QueryStatus, asked_at_ms: u64) -> Self {
        PendingQuery {
            query,
            editor: empty_editor(),
            status,
            note: None,
            asked_at_ms,
            pause: 0,
            handoff: None,
            request: 0,
            streamed: String::new(),
            draft: None,
            failed: None,
            person_ready_sent: false,
            rows: None,
            large: None,
        }
    }

    /// The system prompt and prompt wrapped to `width`: the kept rows when they are
    /// for that width, else wrapped now (slow for a long prompt: `wrap_for` keeps them).
    pub fn prompt_rows(&self, width: u16) -> Cow<'_, PromptRows> {
        match &self.rows {
            Some(rows) if rows.width == width => Cow::Borrowed(rows),
            _ => Cow::Owned(PromptRows::new(&self.query, width)),
        }
    }

    /// Keeps the rows for `width`, wrapping again only when the width changed.
    pub fn wrap_for(&mut self, width: u16) {
        if self.rows.as_ref().is_none_or(|r| r.width != width) {
            self.rows = Some(PromptRows::new(&self.query, width));
        }
    }

    /// The answer as it stands: the large answer's text, else the editor's.
    pub fn answer_text(&self) -> String {
        match &self.large {
            Some(large) => large.text.clone(),
            None => self.editor.lines().join("\n"),
        }
    }

    /// Makes `text` the answer: in the editor, cursor at its end (so typing appends),
    /// or, over `LARGE_ANSWER_BYTES`, as a large answer shown read-only (the editor
    /// would take a third of a second per key with 10 MB in it).
    pub fn set_editor_text(&mut self, text: &str) {
        if text.len() > LARGE_ANSWER_BYTES {
            self.editor = empty_editor();
            self.large = Some(LargeAnswer::new(text.to_string(), None));
        } else {
            self.load_editor(text);
        }
    }

    /// Puts `text` in the editor whatever its size, cursor at its end. Split on `\n`
    /// only, so `answer_text` gives back exactly `text`.
    pub fn load_editor(&mut self, text: &str) {
        let mut editor = empty_editor();
        if !text.is_empty() {
            editor = TextArea::new(text.split('\n').map(str::to_string).collect());
            editor.set_placeholder_text(self.editor.placeholder_text().to_string());
            editor.set_wrap_mode(WrapMode::WordOrGlyph);
            editor.move_cursor(CursorMove::Bottom);
            editor.move_cursor(CursorMove::End);
        }
        self.editor = editor;
        self.large = None;
    }

    /// Shows the answer from the start of its text: a draft to review is read from
    /// the top.
    pub fn show_from_start(&mut self) {
        self.editor.move_cursor(CursorMove::Top);
        self.editor.move_cursor(CursorMove::Head);
        if let Some(large) = &mut self.large {
            large.scroll = 0;
        }
    }

    /// Is the source working on it right now (and has not failed it)?
    pub fn is_asking(&self) -> bool {
        matches!(self.status, QueryStatus::Asking(_)) && self.failed.is_none()
    }

    pub fn phase(&self) -> QueryPhase {
        match &self.status {
            _ if self.failed.is_some() && self.status != QueryStatus::Sent => QueryPhase::Failed,
            QueryStatus::Asking(_) if self.streamed.is_empty() => QueryPhase::Waiting,
            QueryStatus::Asking(_) => QueryPhase::Streaming,
            QueryStatus::Answered { .. } | QueryStatus::Sent => QueryPhase::Done,
            QueryStatus::Held(_) => QueryPhase::Held,
            QueryStatus::ForYou if self.draft.is_some() => QueryPhase::Done,
            QueryStatus::ForYou => QueryPhase::You,
        }
    }
}

/// What the Pending pane shows.
#[derive(Debug, Default, Clone)]
pub struct PendingPane {
    pub queries: Vec<PendingQuery>,
    /// Index into `queries` of the one shown.
    pub selected: usize,
    /// First visible row of the wrapped prompt.
    pub prompt_scroll: usize,
}

impl PendingPane {
    pub fn current(&self) -> Option<&PendingQuery> {
        self.queries.get(self.selected)
    }

    pub fn current_mut(&mut self) -> Option<&mut PendingQuery> {
        self.queries.get_mut(self.selected)
    }

    pub fn find(&self, id: &str) -> Option<&PendingQuery> {
        self.queries.iter().find(|q| q.query.id == id)
    }

    pub fn find_mut(&mut self, id: &str) -> Option<&mut PendingQuery> {
        self.queries.iter_mut().find(|q| q.query.id == id)
    }

    /// Is any query waiting on the person (held answers not sent yet included)?
    pub fn any_for_you(&self) -> bool {
        self.queries
            .iter()
            .any(|q| matches!(q.status, QueryStatus::ForYou | QueryStatus::Held(_)))
    }

    /// Queries of `pause` still waiting for the person's first answer.
    pub fn waiting_in(&self, pause: u64) -> usize {
        self.queries
            .iter()
            .filter(|q| q.pause == pause && q.status == QueryStatus::ForYou)
            .count()
    }

    /// Is the shown query one the person answers (so keys go to its editor)? A held
    /// answer stays editable until the batch is sent.
    pub fn editing(&self) -> bool {
        self.current()
            .is_some_and(|q| matches!(q.status, QueryStatus::ForYou | QueryStatus::Held(_)))
    }

    /// Adds queries of a new pause; if nothing was waiting for the person, shows the
    /// first new one that is (else the first new one).
    pub fn push(&mut self, queries: impl IntoIterator<Item = PendingQuery>) {
        let was_empty = !self.any_for_you();
        let first_new = self.queries.len();
        self.queries.extend(queries);
        if was_empty && first_new < self.queries.len() {
            let shown = (first_new..self.queries.len())
                .find(|&i| self.queries[i].status == QueryStatus::ForYou)
                .unwrap_or(first_new);
            self.select(shown);
        }
    }

    /// Removes a query once the session has its answer; moves to the next one for you.
    pub fn remove(&mut self, id: &QueryId) -> Option<PendingQuery> {
        let index = self.queries.iter().position(|q| &q.query.id == id)?;
        let removed = self.queries.remove(index);
        if index < self.selected {
            self.selected -= 1;
        }
        if self.selected >= self.queries.len() {
            self.selected = self.queries.len().saturating_sub(1);
        }
        if index == self.selected || !self.editing() {
            self.select_next_for_you();
        }
        Some(removed)
    }

    /// Shows the next query still waiting for the person, searching forward and wrapping.
    pub fn select_next_for_you(&mut self) {
        let n = self.queries.len();
        if let Some(i) = (0..n)
            .map(|k| (self.selected + k) % n)
            .find(|&i| self.queries[i].status == QueryStatus::ForYou)
        {
            self.select(i);
        }
    }

    pub fn step(&mut self, forward: bool) {
        let n = self.queries.len();
        if n == 0 {
            return;
        }
        let next = if forward {
            (self.selected + 1) % n
        } else {
            (self.selected + n - 1) % n
        };
        self.select(next);
    }

    fn select(&mut self, index: usize) {
        if index != self.selected {
            self.prompt_scroll = 0;
        }
        self.selected = index;
    }

    pub fn clear(&mut self) {
        *self = PendingPane::default();
    }
}
