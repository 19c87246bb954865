//! Pending pane state: the queries the strategy waits on, one answer editor per query,
//! which one is shown ("k of N"), the prompt scroll, and what an answer source is doing
//! with each query. No I/O.

use ratatui_textarea::{TextArea, WrapMode};

use crate::engine::{Query, QueryId};

/// Who is dealing with a query right now.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryStatus {
    /// Waiting for the person at the keyboard.
    ForYou,
    /// Handed to a non-person source (named), no reply yet.
    Asking(String),
    /// The source answered; the answer was sent to the session.
    Answered { source: String, text: String },
    /// The person sent an answer; waiting for the session to confirm.
    Sent,
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
}

impl PendingQuery {
    pub fn new(query: Query, status: QueryStatus, asked_at_ms: u64) -> Self {
        let mut editor = TextArea::default();
        editor.set_placeholder_text("type the answer…");
        editor.set_wrap_mode(WrapMode::WordOrGlyph);
        PendingQuery {
            query,
            editor,
            status,
            note: None,
            asked_at_ms,
        }
    }

    pub fn answer_text(&self) -> String {
        self.editor.lines().join("\n")
    }
}

/// What the Pending pane shows.
#[derive(Debug, Default, Clone)]
pub struct PendingPane {
    pub queries: Vec<PendingQuery>,
    /// Index into `queries` of the one shown.
    pub selected: usize,
    /// First visible line of the wrapped prompt.
    pub prompt_scroll: u16,
    /// Text arriving from a streaming provider for the shown query, if any.
    pub streaming: Option<String>,
}

impl PendingPane {
    pub fn current(&self) -> Option<&PendingQuery> {
        self.queries.get(self.selected)
    }

    pub fn current_mut(&mut self) -> Option<&mut PendingQuery> {
        self.queries.get_mut(self.selected)
    }

    pub fn find_mut(&mut self, id: &str) -> Option<&mut PendingQuery> {
        self.queries.iter_mut().find(|q| q.query.id == id)
    }

    /// Is any query waiting on the person?
    pub fn any_for_you(&self) -> bool {
        self.queries.iter().any(|q| q.status == QueryStatus::ForYou)
    }

    /// Is the person's clock running? From the pause until the session confirms the
    /// person's answer, so the time charged is the session's own clock.
    pub fn person_busy(&self) -> bool {
        self.queries
            .iter()
            .any(|q| matches!(q.status, QueryStatus::ForYou | QueryStatus::Sent))
    }

    /// Is the shown query one the person should answer (so keys go to its editor)?
    pub fn editing(&self) -> bool {
        self.current()
            .is_some_and(|q| q.status == QueryStatus::ForYou)
    }

    /// Adds queries of a new pause; shows the first one if nothing was waiting.
    pub fn push(&mut self, queries: impl IntoIterator<Item = PendingQuery>) {
        let was_empty = !self.any_for_you();
        let first_new = self.queries.len();
        self.queries.extend(queries);
        if was_empty && first_new < self.queries.len() {
            self.select(first_new);
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
            self.streaming = None;
        }
        self.selected = index;
    }

    pub fn clear(&mut self) {
        *self = PendingPane::default();
    }
}
