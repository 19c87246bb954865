//! Screen geometry, shared by drawing and by the model (mouse hit-testing, page sizes),
//! so both agree on where each pane is. Pure functions of the terminal size.

use ratatui::layout::{Constraint, Layout, Position, Rect};

use super::Focus;

/// Below this the screen shows a "terminal too small" notice instead of panes.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;

/// Rows the Budget pane needs: calls, time, tokens, progress, stats, and borders.
const BUDGET_HEIGHT: u16 = 7;

/// Where each pane goes (outer rects, borders included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenLayout {
    pub source: Rect,
    pub trace: Rect,
    pub pending: Rect,
    pub editor: Rect,
    pub budget: Rect,
    pub status: Rect,
}

impl ScreenLayout {
    /// `None` when the terminal is too small for panes.
    pub fn of(area: Rect) -> Option<Self> {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            return None;
        }
        let [main, status] = area.layout(&Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(1),
        ]));
        let [left, right] = main.layout(&Layout::horizontal([
            Constraint::Percentage(50),
            Constraint::Percentage(50),
        ]));
        let [source, trace] = left.layout(&Layout::vertical([
            Constraint::Percentage(60),
            Constraint::Percentage(40),
        ]));
        let [pending_all, budget] = right.layout(&Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(BUDGET_HEIGHT),
        ]));
        let [pending, editor] = pending_all.layout(&Layout::vertical([
            Constraint::Percentage(55),
            Constraint::Percentage(45),
        ]));
        Some(ScreenLayout {
            source,
            trace,
            pending,
            editor,
            budget,
            status,
        })
    }

    /// The pane at a screen position, for mouse focus and wheel scrolling.
    pub fn pane_at(&self, column: u16, row: u16) -> Option<Focus> {
        let p = Position::new(column, row);
        if self.source.contains(p) {
            Some(Focus::Source)
        } else if self.trace.contains(p) {
            Some(Focus::Trace)
        } else if self.pending.contains(p) || self.editor.contains(p) {
            Some(Focus::Pending)
        } else if self.budget.contains(p) {
            Some(Focus::Budget)
        } else {
            None
        }
    }

    /// Rows inside a pane's borders.
    pub fn inner_height(&self, focus: Focus) -> usize {
        let rect = match focus {
            Focus::Source => self.source,
            Focus::Trace => self.trace,
            Focus::Pending => self.pending,
            Focus::Budget => self.budget,
        };
        rect.height.saturating_sub(2) as usize
    }
}

/// A centred overlay box of at most `width` x `height` inside `area`.
pub fn overlay_rect(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2)).max(1);
    let h = height.min(area.height.saturating_sub(2)).max(1);
    area.centered(Constraint::Length(w), Constraint::Length(h))
}

/// Rows `text` takes when wrapped to `width` columns by [`wrap_line`] (exact where the
/// text is drawn pre-wrapped, close to ratatui's word wrap elsewhere).
pub fn wrapped_rows(text: &str, width: u16) -> usize {
    text.split('\n')
        .map(|l| wrap_line(l, width as usize).len())
        .sum()
}

/// Display columns of one character.
fn columns(ch: char) -> usize {
    let mut buf = [0u8; 4];
    ratatui::text::Span::raw(&*ch.encode_utf8(&mut buf)).width()
}

/// One line word-wrapped to `width` columns: breaks after a space where it can, inside
/// a word longer than the width where it must. Always at least one (maybe empty) row;
/// the rows joined give back the line.
pub fn wrap_line(line: &str, width: usize) -> Vec<&str> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let (mut start, mut used) = (0, 0);
    // Byte index just after the last space in this row, and the columns up to it.
    let mut space: Option<(usize, usize)> = None;
    for (i, ch) in line.char_indices() {
        let w = columns(ch);
        if used + w > width && i > start && ch != ' ' {
            match space {
                Some((at, cols)) if at > start && used - cols + w <= width => {
                    rows.push(&line[start..at]);
                    start = at;
                    used -= cols;
                }
                _ => {
                    rows.push(&line[start..i]);
                    start = i;
                    used = 0;
                }
            }
            space = None;
        }
        used += w;
        if ch == ' ' {
            space = Some((i + 1, used));
        }
    }
    rows.push(&line[start..]);
    rows
}

/// What a row of the Pending pane's text is (decides its style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptRowKind {
    Note,
    /// A system prompt row; the first carries the `system` label.
    System {
        first: bool,
    },
    Blank,
    Prompt,
}

/// Width of the label column in front of system prompt rows.
pub const SYSTEM_LABEL: u16 = 8;

/// The Pending pane's text as rows of `width` columns: the note, the system prompt
/// (indented past its label), a blank row, the prompt. Drawing shows a window of these
/// rows and the model clamps the scroll to their count, so the end is always reachable.
pub fn prompt_rows<'a>(
    note: Option<&'a str>,
    system: Option<&'a str>,
    prompt: &'a str,
    width: u16,
) -> Vec<(PromptRowKind, &'a str)> {
    let width = width as usize;
    let mut rows = Vec::new();
    for line in note.iter().flat_map(|n| n.split('\n')) {
        rows.extend(
            wrap_line(line, width)
                .into_iter()
                .map(|r| (PromptRowKind::Note, r)),
        );
    }
    if let Some(system) = system {
        let inner = width.saturating_sub(SYSTEM_LABEL as usize);
        let mut first = true;
        for line in system.split('\n') {
            for r in wrap_line(line, inner) {
                rows.push((PromptRowKind::System { first }, r));
                first = false;
            }
        }
        rows.push((PromptRowKind::Blank, ""));
    }
    for line in prompt.split('\n') {
        rows.extend(
            wrap_line(line, width)
                .into_iter()
                .map(|r| (PromptRowKind::Prompt, r)),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_after_spaces_and_inside_long_words() {
        // A space at the edge stays on its row (it shows as nothing).
        assert_eq!(wrap_line("the sky is blue", 7), vec!["the sky ", "is blue"]);
        assert_eq!(wrap_line("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap_line("", 4), vec![""]);
        assert_eq!(wrap_line("日本語です", 4), vec!["日本", "語で", "す"]);
        for (text, w) in [("a bb ccc dddd eeeee", 3), ("x  y   z", 2), ("日本 語", 3)] {
            let rows = wrap_line(text, w);
            assert_eq!(rows.concat(), text, "nothing lost");
            for r in rows {
                assert!(
                    ratatui::text::Span::raw(r.trim_end()).width() <= w,
                    "{r:?} wider than {w}"
                );
            }
        }
    }

    #[test]
    fn prompt_rows_count_what_is_drawn() {
        let rows = prompt_rows(Some("note"), Some("be brief"), "one two three\nfour", 12);
        let kinds: Vec<_> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            kinds,
            vec![
                PromptRowKind::Note,
                PromptRowKind::System { first: true },
                PromptRowKind::System { first: false },
                PromptRowKind::System { first: false },
                PromptRowKind::Blank,
                PromptRowKind::Prompt,
                PromptRowKind::Prompt,
                PromptRowKind::Prompt,
            ]
        );
        assert_eq!(rows.last().unwrap().1, "four");
    }
}
