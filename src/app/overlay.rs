//! The overlays: the boxes drawn over the panes (help, event detail, result, picker,
//! ctx editor, trace search, questions, the transcript choices), and the question a
//! confirm overlay asks. Data only.

use ratatui_textarea::TextArea;

use super::Action;
use crate::engine::QueryId;

/// A box over the panes; at most one at a time.
#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    /// A trace entry (index into the filtered view) in full.
    Event {
        index: usize,
        scroll: u16,
    },
    Result {
        scroll: u16,
    },
    Ctx {
        editor: Box<TextArea<'static>>,
        error: Option<String>,
        /// The script to run once the ctx is applied (a package picked).
        run: Option<String>,
        /// What JSON cannot say in the text (a package's optional fields).
        hint: Option<String>,
    },
    Picker {
        /// Index into the filtered list.
        selected: usize,
        filter: String,
    },
    /// The trace search box, with what is typed so far.
    Search {
        query: String,
    },
    /// An expression to evaluate in the Stack pane's selected frame.
    Expression {
        text: String,
    },
    ConfirmQuit,
    /// `r`, `o` or `c` while a query waits for the person: the answers would be lost.
    ConfirmDiscard {
        action: Action,
    },
    ConfirmEmpty {
        id: QueryId,
    },
    /// The transcript could not record an answer: retry, record elsewhere, or go on
    /// unrecorded (what failed is in `App::unrecorded`).
    Unrecorded,
    /// The path to record the transcript to instead.
    TranscriptPath {
        editor: Box<TextArea<'static>>,
        error: Option<String>,
    },
}

impl Overlay {
    /// The yes/no question a confirm overlay asks.
    pub fn question(&self) -> Option<String> {
        let waiting = "A query is waiting for you";
        Some(match self {
            Overlay::ConfirmQuit => format!("{waiting}. Quit anyway?"),
            Overlay::ConfirmDiscard { action } => match action {
                Action::Run => format!("{waiting}. Re-run anyway (its answer is lost)?"),
                Action::Open => format!("{waiting}. Open another script anyway?"),
                Action::Cancel => format!("{waiting}. Cancel the run anyway?"),
                other => format!("{waiting}. {} anyway?", other.description()),
            },
            Overlay::ConfirmEmpty { id } => format!("Send an empty answer to {id}?"),
            _ => return None,
        })
    }
}
