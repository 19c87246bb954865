//! A large answer: text over [`LARGE_ANSWER_BYTES`] (a huge review draft, a huge
//! paste) is kept out of the answer editor and shown read-only instead.
//!
//! Why: the editor widget (ratatui-textarea) rebuilds its screen map of the *whole*
//! text after every edit, whatever its wrap mode, so with 10 MB in it each key costs a
//! third of a second. Here the text is wrapped once per width (in `update`, with
//! `app::wrap`), a frame draws only the rows on screen, and keys only scroll. The text
//! is still the answer: ctrl-s sends (accepts) it as it is, ctrl-r rejects the draft
//! (or undoes the paste that made it large), ctrl-e loads it into the editor anyway
//! (slow, said so). Pure: no I/O.

use std::borrow::Cow;
use std::ops::Range;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::{wrap, Action, App};

/// Answers longer than this (in bytes) are shown read-only: the editor takes about a
/// millisecond per 30 KB of text for each key, so this keeps a key within one frame.
pub const LARGE_ANSWER_BYTES: usize = 256 * 1024;

/// Rows one mouse-wheel notch scrolls the answer.
const WHEEL_ROWS: isize = 3;

/// The answer text while it is too large to edit quickly, and where it is scrolled to.
#[derive(Debug, Clone)]
pub struct LargeAnswer {
    pub text: String,
    /// Rows of `text` for the Answer box's inner width (`wrap_for`), kept so a frame
    /// and a key cost what they show.
    rows: Option<(u16, Vec<Range<usize>>)>,
    /// First row shown.
    pub scroll: usize,
    /// The editor as it was before the paste that made the answer large: rejecting
    /// (ctrl-r) goes back to it, so a paste too big to edit costs nothing typed.
    pub before: Option<Box<TextArea<'static>>>,
}

impl LargeAnswer {
    pub fn new(text: String, before: Option<TextArea<'static>>) -> Self {
        LargeAnswer {
            text,
            rows: None,
            scroll: 0,
            before: before.map(Box::new),
        }
    }

    /// Keeps the rows for `width`, wrapping again only when the width changed.
    pub fn wrap_for(&mut self, width: u16) {
        if self.rows.as_ref().is_none_or(|(w, _)| *w != width) {
            self.rows = Some((width, wrap::wrap(&self.text, width)));
        }
    }

    /// The rows at `width`: the kept ones, else wrapped now (slow once; `wrap_for`
    /// keeps them).
    pub fn rows(&self, width: u16) -> Cow<'_, [Range<usize>]> {
        match &self.rows {
            Some((w, rows)) if *w == width => Cow::Borrowed(rows),
            _ => Cow::Owned(wrap::wrap(&self.text, width)),
        }
    }

    /// The rows on screen in a box `width` x `height`: the first one's index, their
    /// text, and how many rows there are in all.
    pub fn visible(&self, width: u16, height: usize) -> (usize, Vec<&str>, usize) {
        let rows = self.rows(width);
        let first = self.scroll.min(rows.len().saturating_sub(height));
        let end = (first + height).min(rows.len());
        let shown = rows[first..end]
            .iter()
            .map(|r| self.text.get(r.clone()).unwrap_or(""))
            .collect();
        (first, shown, rows.len())
    }

    /// Moves the view by `delta` rows, kept within the text (`height` rows on screen).
    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        let total = self.rows.as_ref().map_or(usize::MAX, |(_, r)| r.len());
        let last = total.saturating_sub(height);
        self.scroll = self.scroll.min(last).saturating_add_signed(delta).min(last);
    }

    /// Its size as people read it: `9.5 MiB`.
    pub fn size(&self) -> String {
        size_label(self.text.len())
    }
}

pub fn size_label(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Bytes of text in `editor` (lines and the newlines between them).
pub fn editor_bytes(editor: &TextArea<'_>) -> usize {
    let lines = editor.lines();
    lines.iter().map(String::len).sum::<usize>() + lines.len().saturating_sub(1)
}

/// The editor's text with `insert` put where the editor would put it: at the cursor,
/// in place of the selection when there is one.
pub fn spliced(editor: &TextArea<'_>, insert: &str) -> String {
    let lines = editor.lines();
    let cursor = editor.cursor();
    let (start, end) = editor
        .selection_range()
        .unwrap_or(((cursor.0, cursor.1), (cursor.0, cursor.1)));
    let offset = |(row, col): (usize, usize)| -> usize {
        let before: usize = lines[..row].iter().map(|l| l.len() + 1).sum();
        let line = &lines[row];
        before + line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
    };
    let text = lines.join("\n");
    let (from, to) = (offset(start), offset(end));
    let mut out = String::with_capacity(text.len() - (to - from) + insert.len());
    out.push_str(&text[..from]);
    out.push_str(insert);
    out.push_str(&text[to..]);
    out
}

/// The note above a large answer in the Answer box: why it is read-only and which keys
/// act on it (the box's title may be cut on a narrow screen; this wraps).
pub fn note(app: &App) -> String {
    let Some(q) = app.pending.current() else {
        return String::new();
    };
    let size = q.large.as_ref().map(LargeAnswer::size).unwrap_or_default();
    let key = |a| app.keymap.hint(a).unwrap_or_default();
    let sends = if q.draft.is_some() {
        "accepts"
    } else {
        "sends"
    };
    format!(
        "{size}, too large to edit quickly: shown read-only. {} {sends} it as it is, {} edits \
         it (slowly); ↑ ↓ home end scroll.",
        key(Action::Submit),
        key(Action::EditLarge),
    )
}

/// Width and rows of the text in the Answer box: inside its borders, below the note
/// (0 when the screen is too small). Drawing counts the same rows.
fn answer_box(app: &App) -> (u16, usize) {
    app.layout().map_or((0, 0), |l| {
        let width = l.editor.width.saturating_sub(2);
        let note = wrap::wrap(&note(app), width).len();
        let height = usize::from(l.editor.height.saturating_sub(2));
        (width, height.saturating_sub(note))
    })
}

/// Keeps the shown query's large answer wrapped for the Answer box (once per width).
pub(super) fn wrap_answer(app: &mut App) {
    let (width, _) = answer_box(app);
    if width == 0 {
        return;
    }
    if let Some(large) = app.pending.current_mut().and_then(|q| q.large.as_mut()) {
        large.wrap_for(width);
    }
}

/// Is the shown query's answer a large one (shown read-only)?
pub fn shown(app: &App) -> bool {
    app.pending.current().is_some_and(|q| q.large.is_some())
}

/// A key the answer editor would take while the answer is large: the scroll keys
/// scroll it; a key that would edit says how to edit instead (nothing is inserted).
pub(super) fn on_key(app: &mut App, key: KeyEvent) {
    let (width, height) = answer_box(app);
    let plain = !key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    let Some(large) = app.pending.current_mut().and_then(|q| q.large.as_mut()) else {
        return;
    };
    large.wrap_for(width);
    match key.code {
        KeyCode::Up => large.scroll_by(-1, height),
        KeyCode::Down => large.scroll_by(1, height),
        KeyCode::Home if plain => large.scroll = 0,
        KeyCode::End if plain => large.scroll_by(isize::MAX, height),
        _ => app.message = Some(read_only(app, "")),
    }
}

/// The mouse wheel over the Answer box.
pub(super) fn on_wheel(app: &mut App, down: bool) {
    let (width, height) = answer_box(app);
    if let Some(large) = app.pending.current_mut().and_then(|q| q.large.as_mut()) {
        large.wrap_for(width);
        large.scroll_by(if down { WHEEL_ROWS } else { -WHEEL_ROWS }, height);
    }
}

/// A paste into the answer: into the editor while the whole stays small; one that
/// makes it large turns the answer into a large one (what was typed included, the
/// paste where the cursor was), without the editor ever holding it.
pub(super) fn paste(app: &mut App, text: &str) {
    let Some(q) = app.pending.current_mut() else {
        return;
    };
    if q.large.is_some() {
        app.message = Some(read_only(app, "paste not added: "));
        return;
    }
    if editor_bytes(&q.editor) + text.len() <= LARGE_ANSWER_BYTES {
        q.editor.insert_str(text);
        return;
    }
    let whole = spliced(&q.editor, text);
    let before = std::mem::replace(&mut q.editor, super::pending::empty_editor());
    let large = LargeAnswer::new(whole, Some(before));
    let size = large.size();
    q.large = Some(large);
    let key = |a| app.keymap.hint(a).unwrap_or_default();
    app.message = Some(format!(
        "the answer is now {size}: shown read-only ({} sends it, {} undoes the paste, {} edits it, slowly)",
        key(Action::Submit),
        key(Action::RejectDraft),
        key(Action::EditLarge),
    ));
}

/// `ctrl-e`: puts the large answer in the editor anyway, from its start; every key
/// there then costs time in proportion to its size, which the message says.
pub(super) fn edit(app: &mut App) {
    let Some(q) = app.pending.current_mut() else {
        return;
    };
    let Some(large) = q.large.take() else {
        return;
    };
    q.load_editor(&large.text);
    q.show_from_start();
    app.message = Some(format!(
        "editing the {} answer in the editor: slow, each key redraws all of it",
        large.size()
    ));
}

/// Why a key did nothing: the answer is read-only, and which keys act on it.
fn read_only(app: &App, what: &str) -> String {
    let size = app
        .pending
        .current()
        .and_then(|q| q.large.as_ref())
        .map(LargeAnswer::size)
        .unwrap_or_default();
    let key = |a| app.keymap.hint(a).unwrap_or_default();
    format!(
        "{what}the {size} answer is read-only here: {} edits it (slowly), {} sends it as it is",
        key(Action::EditLarge),
        key(Action::Submit),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui_textarea::CursorMove;

    #[test]
    fn a_paste_lands_at_the_cursor_or_over_the_selection() {
        let mut editor = TextArea::new(vec!["héllo".into(), "wörld".into()]);
        editor.move_cursor(CursorMove::Jump(1, 1));
        assert_eq!(spliced(&editor, "X\nY"), "héllo\nwX\nYörld");
        assert_eq!(editor_bytes(&editor), "héllo\nwörld".len());
        editor.start_selection();
        editor.move_cursor(CursorMove::Jump(0, 2));
        assert_eq!(spliced(&editor, "_"), "hé_örld");
        assert_eq!(spliced(&TextArea::default(), "abc"), "abc");
    }

    #[test]
    fn scrolling_stays_within_the_rows() {
        let text = (0..100).map(|i| format!("row {i}")).collect::<Vec<_>>();
        let mut large = LargeAnswer::new(text.join("\n"), None);
        large.wrap_for(20);
        large.scroll_by(isize::MAX, 10);
        assert_eq!(large.scroll, 90);
        let (first, rows, total) = large.visible(20, 10);
        assert_eq!((first, rows[9], total), (90, "row 99", 100));
        large.scroll_by(-1, 10);
        assert_eq!(large.scroll, 89);
        large.scroll_by(isize::MIN, 10);
        assert_eq!(large.visible(20, 3).1, ["row 0", "row 1", "row 2"]);
    }
}
