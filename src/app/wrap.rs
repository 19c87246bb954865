//! Wrapping long text for the screen without rewrapping it on every frame or key.
//!
//! [`wrap`] finds where each screen row of a text starts and ends (word wrap, breaking
//! inside a word only when it is wider than the row). The Pending pane keeps those
//! rows per query in a [`PromptRows`], computed once per text and width (in `update`,
//! not while drawing), so a frame draws only the rows it shows and scrolling knows
//! where the end is, whatever the prompt's size. Text that only shows its start or its
//! end (an answer, streamed text) is wrapped in a bounded window instead ([`head`],
//! [`tail`]). The one word wrap of the workbench: overlay boxes count their rows with
//! it too ([`wrapped_rows`]). Pure: no I/O.

use std::ops::Range;

use unicode_width::UnicodeWidthChar;

use crate::engine::Query;

/// Columns taken by the `system  ` label in front of the system prompt's rows.
pub const SYSTEM_LABEL: u16 = 8;

/// Bytes of text [`head`] and [`tail`] look at per row they show: wide enough for a
/// row of 4-byte characters, so the window never shows fewer rows than asked.
const WINDOW_BYTES_PER_CELL: usize = 4;

fn char_width(c: char) -> usize {
    if c.is_ascii() {
        // Printable ASCII is one column; controls (a tab) draw nothing.
        usize::from(!c.is_ascii_control())
    } else {
        c.width().unwrap_or(0)
    }
}

/// The rows of `text` wrapped to `width` columns, as byte ranges into `text`. Every
/// line (split on `\n`) has at least one row; a space where a row breaks stays at the
/// end of the row before, unless it is the one that did not fit.
pub fn wrap(text: &str, width: u16) -> Vec<Range<usize>> {
    let width = usize::from(width.max(1));
    let mut rows = Vec::with_capacity(text.len() / width + 1);
    let mut offset = 0;
    for line in text.split('\n') {
        wrap_line(line, offset, width, &mut rows);
        offset += line.len() + 1;
    }
    rows
}

fn wrap_line(line: &str, offset: usize, width: usize, rows: &mut Vec<Range<usize>>) {
    let mut start = 0;
    let mut col = 0;
    // Where the row could break (just after its last space) and the column there.
    let mut space: Option<(usize, usize)> = None;
    for (i, c) in line.char_indices() {
        let w = char_width(c);
        if col + w > width && i > start {
            if c == ' ' {
                // The space that does not fit ends the row and is not drawn.
                rows.push(offset + start..offset + i);
                start = i + 1;
                col = 0;
                space = None;
                continue;
            }
            match space.take() {
                Some((at, at_col)) if at > start && col - at_col + w <= width => {
                    rows.push(offset + start..offset + at);
                    start = at;
                    col -= at_col;
                }
                _ => {
                    rows.push(offset + start..offset + i);
                    start = i;
                    col = 0;
                }
            }
        }
        col += w;
        if c == ' ' {
            space = Some((i + 1, col));
        }
    }
    rows.push(offset + start..offset + line.len());
}

/// How many rows `text` takes at `width` (overlay boxes size and clamp with it; close
/// to ratatui's own word wrap where that draws the text).
pub fn wrapped_rows(text: &str, width: u16) -> usize {
    wrap(text, width).len()
}

/// The first `height` rows of `text` at `width`, wrapping only as much text as they
/// can hold.
pub fn head(text: &str, width: u16, height: usize) -> Vec<&str> {
    let window = window_bytes(width, height);
    let end = floor_char_boundary(text, window.min(text.len()));
    let part = &text[..end];
    let mut rows: Vec<&str> = wrap(part, width).into_iter().map(|r| &part[r]).collect();
    rows.truncate(height);
    rows
}

/// The last `height` rows of `text` at `width`, wrapping only as much text as they
/// can hold (from a line start within that window when there is one, so rows line up
/// as they would for the whole text).
pub fn tail(text: &str, width: u16, height: usize) -> Vec<&str> {
    let window = window_bytes(width, height);
    let mut start = ceil_char_boundary(text, text.len().saturating_sub(window));
    if start > 0 {
        if let Some(nl) = text[start..].find('\n') {
            start += nl + 1;
        }
    }
    let part = &text[start..];
    let rows = wrap(part, width);
    let skip = rows.len().saturating_sub(height);
    rows[skip..].iter().map(|r| &part[r.clone()]).collect()
}

fn window_bytes(width: u16, height: usize) -> usize {
    (usize::from(width.max(1)) * (height + 1)).saturating_mul(WINDOW_BYTES_PER_CELL)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A query's system prompt and prompt wrapped for the Pending pane at one width.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptRows {
    /// The pane's inner width these rows are for.
    pub width: u16,
    /// Rows of the system prompt, wrapped beside its label.
    pub system: Vec<Range<usize>>,
    /// Rows of the prompt.
    pub prompt: Vec<Range<usize>>,
}

impl PromptRows {
    pub fn new(query: &Query, width: u16) -> Self {
        PromptRows {
            width,
            system: query
                .system
                .as_deref()
                .map(|s| wrap(s, width.saturating_sub(SYSTEM_LABEL)))
                .unwrap_or_default(),
            prompt: wrap(&query.prompt, width),
        }
    }

    /// Rows of the pane's text below `note_rows` rows of note: the system prompt and
    /// a blank row after it, then the prompt.
    pub fn len(&self, note_rows: usize) -> usize {
        let system = if self.system.is_empty() {
            0
        } else {
            self.system.len() + 1
        };
        note_rows + system + self.prompt.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prompt.is_empty() && self.system.is_empty()
    }

    /// The rows from `first` on, at most `height` of them: the note's (given wrapped),
    /// the system prompt's, a blank one, the prompt's. Costs what it shows.
    pub fn visible<'a>(
        &self,
        query: &'a Query,
        note: &[&'a str],
        first: usize,
        height: usize,
    ) -> Vec<BodyRow<'a>> {
        let end = first.saturating_add(height).min(self.len(note.len()));
        (first..end).map(|i| self.row(query, note, i)).collect()
    }

    fn row<'a>(&self, query: &'a Query, note: &[&'a str], mut i: usize) -> BodyRow<'a> {
        if i < note.len() {
            return BodyRow::Note(note[i]);
        }
        i -= note.len();
        if !self.system.is_empty() {
            if i < self.system.len() {
                let system = query.system.as_deref().unwrap_or("");
                let range = self.system[i].clone();
                return BodyRow::System {
                    first: i == 0,
                    text: system.get(range).unwrap_or(""),
                };
            }
            i -= self.system.len();
            if i == 0 {
                return BodyRow::Blank;
            }
            i -= 1;
        }
        let range = self.prompt.get(i).cloned().unwrap_or_default();
        BodyRow::Prompt(query.prompt.get(range).unwrap_or(""))
    }
}

/// One screen row of the Pending pane's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRow<'a> {
    Note(&'a str),
    /// A row of the system prompt; the first one carries the label.
    System {
        first: bool,
        text: &'a str,
    },
    Blank,
    Prompt(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, width: u16) -> Vec<&str> {
        wrap(text, width).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn words_wrap_and_long_words_break() {
        assert_eq!(rows("the quick brown fox", 10), ["the quick ", "brown fox"]);
        assert_eq!(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(rows("ab cdefghij", 4), ["ab ", "cdef", "ghij"]);
        // The space that does not fit is where the row breaks.
        assert_eq!(rows("abcd efgh", 4), ["abcd", "efgh"]);
        assert_eq!(rows("a\n\nb", 5), ["a", "", "b"]);
        assert_eq!(rows("", 5), [""]);
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(rows("日本語の文", 4), ["日本", "語の", "文"]);
        assert_eq!(rows("héllo wörld", 6), ["héllo ", "wörld"]);
    }

    #[test]
    fn no_row_is_wider_than_the_width_and_no_text_is_lost() {
        let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do \
                    eiusmod tempor incididunt ut labore et dolore magna aliqua.\n\
                    Ut enim ad minim veniam, quis nostrud exercitation ullamco."
            .repeat(7);
        for width in [1, 3, 7, 12, 40, 200] {
            let r = rows(&text, width);
            for row in &r {
                let w: usize = row.chars().map(char_width).sum();
                assert!(w <= usize::from(width), "{row:?} wider than {width}");
            }
            let kept: String = r.concat();
            let without = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            assert_eq!(without(&kept), without(&text), "width {width}");
        }
    }

    #[test]
    fn prompt_rows_are_note_system_blank_prompt() {
        let query = Query {
            max_tokens_capped: None,
            id: "q-1".into(),
            prompt: "one two three\nfour".into(),
            system: Some("be brief".into()),
            max_tokens: 100,
            grounded: false,
            underspecified: false,
            site: None,
            batch: None,
            fork: None,
        };
        let rows = PromptRows::new(&query, 12);
        let note = ["note"];
        assert_eq!(rows.len(note.len()), 8);
        let all = rows.visible(&query, &note, 0, 100);
        assert_eq!(
            all,
            vec![
                BodyRow::Note("note"),
                BodyRow::System {
                    first: true,
                    text: "be "
                },
                BodyRow::System {
                    first: false,
                    text: "brie"
                },
                BodyRow::System {
                    first: false,
                    text: "f"
                },
                BodyRow::Blank,
                BodyRow::Prompt("one two "),
                BodyRow::Prompt("three"),
                BodyRow::Prompt("four"),
            ]
        );
        // A window costs what it shows, and the same rows come back.
        assert_eq!(rows.visible(&query, &note, 6, 5), all[6..].to_vec());
        assert!(rows.visible(&query, &note, 8, 5).is_empty());
    }

    #[test]
    fn head_and_tail_match_the_whole_wrap() {
        let text = (0..500)
            .map(|i| format!("line {i} with a few words to wrap around the edge"))
            .collect::<Vec<_>>()
            .join("\n");
        let all = rows(&text, 20);
        assert_eq!(head(&text, 20, 7), all[..7].to_vec());
        assert_eq!(tail(&text, 20, 7), all[all.len() - 7..].to_vec());
        // One huge line: the tail is the text's end, rows no wider than the width.
        let one = "x".repeat(1_000_000) + "END";
        let t = tail(&one, 30, 3);
        assert_eq!(t.len(), 3);
        assert!(t[2].ends_with("END") && t.iter().all(|r| r.len() <= 30));
        assert_eq!(head(&one, 30, 2), ["x".repeat(30), "x".repeat(30)]);
        assert_eq!(tail("short", 30, 3), ["short"]);
    }
}
