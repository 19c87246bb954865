//! The overlays: the boxes drawn over the panes (help, event detail, result, picker,
//! ctx editor, trace search, questions, the transcript choices), the question a
//! confirm overlay asks, and the text of the overlays that scroll (which the drawing
//! shows and the scroll limits count). Data and text only.

use ratatui_textarea::TextArea;

use super::keymap::Keymap;
use super::layout::TextOverlay;
use super::trace::clock;
use super::{Action, App};
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
    /// This run compared with its parent (or the transcript it replayed).
    Diff(Box<super::replay::DiffOverlay>),
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

/// One row of the help overlay: a context's heading, or a binding under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    Heading(&'static str),
    /// `keys` is padded so the descriptions line up.
    Binding {
        keys: String,
        desc: &'static str,
    },
}

impl HelpLine {
    /// The row as plain text.
    pub fn text(&self) -> String {
        match self {
            HelpLine::Heading(heading) => heading.to_string(),
            HelpLine::Binding { keys, desc } => format!("{keys}{desc}"),
        }
    }
}

/// The help overlay's rows, generated from the keymap: each context's heading, then
/// its bindings.
pub fn help_lines(keymap: &Keymap) -> Vec<HelpLine> {
    let rows = keymap.help_rows();
    let key_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut lines = Vec::new();
    let mut last_heading = "";
    for (heading, keys, desc) in rows {
        if heading != last_heading {
            lines.push(HelpLine::Heading(heading));
            last_heading = heading;
        }
        lines.push(HelpLine::Binding {
            keys: format!("  {keys:<key_width$}  "),
            desc,
        });
    }
    lines
}

/// The overlay on screen if its text scrolls, with that text: what the drawing
/// shows, row for row, and what the scroll limit counts.
pub fn scrolling_text(app: &App) -> Option<(TextOverlay, String)> {
    match app.overlay.as_ref()? {
        Overlay::Help { .. } => {
            let lines: Vec<String> = help_lines(&app.keymap).iter().map(HelpLine::text).collect();
            Some((TextOverlay::Help, lines.join("\n")))
        }
        Overlay::Event { index, .. } => {
            let e = app.trace.get(*index)?;
            let text = format!(
                "{} {} {}\n\n{}",
                clock(e.t_ms),
                e.kind.glyph(),
                e.head,
                e.body
            );
            Some((TextOverlay::Event, text))
        }
        Overlay::Result { .. } => {
            let outcome = app.session.outcome.as_ref()?;
            Some((TextOverlay::Result, outcome.result_text()))
        }
        _ => None,
    }
}
