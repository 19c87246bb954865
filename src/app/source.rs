//! Source pane state: the script's lines (already highlighted by the runtime), the
//! paused call site, the error line, and the scroll position. No I/O: loading and
//! highlighting happen in the runtime and arrive as a message.

use ratatui::text::Line;

/// A line of a file (as a call site names it: a path, `bundled/NAME/init.lua`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub file: String,
    /// 1-based.
    pub line: u32,
}

/// What the Source pane shows.
#[derive(Debug, Default, Clone)]
pub struct SourcePane {
    /// The file shown (as given: a path or a package name).
    pub file: Option<String>,
    /// Highlighted lines, computed once per load.
    pub lines: Vec<Line<'static>>,
    /// The call the query on screen was asked at (its file may be a package's).
    pub paused: Option<Mark>,
    /// Where the strategy failed.
    pub error: Option<Mark>,
    /// Where the strategy stood when it was cancelled.
    pub stopped: Option<Mark>,
    /// The file asked for and not loaded yet (asked once, not on every message).
    pub loading: Option<String>,
    /// Index of the first visible line.
    pub scroll: usize,
    /// Why the file could not be shown.
    pub load_error: Option<String>,
    /// A line to reveal once the file that holds it is loaded.
    pub reveal_after_load: Option<u32>,
    /// Columns scrolled sideways (long lines, when not wrapping).
    pub hscroll: usize,
    /// Wrap long lines instead of scrolling sideways.
    pub wrap: bool,
    /// The cursor line (0-based): F9 sets a breakpoint there. Moved by the scroll keys
    /// while the pane is focused; jumps to the paused or stopped line.
    pub cursor: usize,
}

impl SourcePane {
    /// A file arrived. One that is no longer wanted (another was asked for since) is
    /// dropped, so files loading out of order cannot leave the wrong one on screen.
    pub fn loaded(&mut self, file: String, lines: Vec<Line<'static>>, height: usize) {
        match &self.loading {
            Some(wanted) if *wanted != file => return,
            Some(_) => self.loading = None,
            None => {}
        }
        let same_file = self.file.as_deref() == Some(file.as_str());
        self.file = Some(file);
        self.lines = lines;
        self.load_error = None;
        if !same_file {
            self.scroll = 0;
            self.cursor = 0;
        }
        if let Some(line) = self.reveal_after_load.take() {
            self.reveal(line, height);
        }
        self.clamp(height);
    }

    pub fn load_failed(&mut self, file: String, error: String) {
        match &self.loading {
            Some(wanted) if *wanted != file => return,
            Some(_) => self.loading = None,
            None => {}
        }
        self.file = Some(file);
        self.lines.clear();
        self.load_error = Some(error);
        self.scroll = 0;
    }

    /// Does a call site's file name refer to the file shown? Chunk names may carry a
    /// leading `@` or `./`, or be a suffix of the path given on the command line.
    pub fn shows(&self, site_file: &str) -> bool {
        let Some(file) = self.file.as_deref() else {
            return false;
        };
        let clean = |s: &str| {
            s.trim_start_matches('@')
                .trim_start_matches("./")
                .to_string()
        };
        let (a, b) = (clean(file), clean(site_file));
        a == b || a.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{a}"))
    }

    /// The paused call's line, if it is in the file shown.
    pub fn paused_line(&self) -> Option<u32> {
        self.line_of(self.paused.as_ref())
    }

    /// The failure's line, if it is in the file shown.
    pub fn error_line(&self) -> Option<u32> {
        self.line_of(self.error.as_ref())
    }

    /// The line the cancel stopped the strategy at, if it is in the file shown.
    pub fn stopped_line(&self) -> Option<u32> {
        self.line_of(self.stopped.as_ref())
    }

    fn line_of(&self, mark: Option<&Mark>) -> Option<u32> {
        mark.filter(|m| self.shows(&m.file)).map(|m| m.line)
    }

    /// Shows `mark`'s line: scrolls to it when its file is on screen, else says which
    /// file to load (once) and reveals the line when it arrives. The caller loads it.
    pub fn show(&mut self, mark: &Mark, height: usize) -> Option<String> {
        if self.shows(&mark.file) {
            self.reveal(mark.line, height);
            return None;
        }
        if self.loading.as_deref() == Some(mark.file.as_str()) {
            self.reveal_after_load = Some(mark.line);
            return None;
        }
        self.loading = Some(mark.file.clone());
        self.reveal_after_load = Some(mark.line);
        Some(mark.file.clone())
    }

    /// Clears the marks of a run (a new one starts).
    pub fn clear_marks(&mut self) {
        self.paused = None;
        self.error = None;
        self.stopped = None;
    }

    /// Scrolls so that 1-based `line` is visible, a third of the way down when it moves.
    pub fn reveal(&mut self, line: u32, height: usize) {
        let index = (line as usize).saturating_sub(1);
        self.cursor = index.min(self.lines.len().saturating_sub(1));
        if height == 0 {
            return;
        }
        if index < self.scroll || index >= self.scroll + height {
            self.scroll = index.saturating_sub(height / 3);
        }
        self.clamp(height);
    }

    /// Moves the cursor line, scrolling to keep it in view.
    pub fn move_cursor(&mut self, delta: isize, height: usize) {
        let last = self.lines.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        } else if height > 0 && self.cursor >= self.scroll + height {
            self.scroll = self.cursor + 1 - height;
        }
        self.clamp(height);
    }

    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        self.scroll = self.scroll.saturating_add_signed(delta);
        self.clamp(height);
    }

    pub fn scroll_to(&mut self, top: bool, height: usize) {
        self.scroll = if top { 0 } else { usize::MAX };
        self.cursor = if top {
            0
        } else {
            self.lines.len().saturating_sub(1)
        };
        self.clamp(height);
    }

    /// Columns the line-number gutter takes (marker, number, two spaces).
    pub fn gutter(&self) -> usize {
        self.lines.len().to_string().len() + 3
    }

    /// Scrolls sideways by `delta` columns; `width` is the pane's inner width. Stops
    /// once the longest line's end is in view.
    pub fn scroll_sideways(&mut self, delta: isize, width: usize) {
        if self.wrap {
            return;
        }
        let text = width.saturating_sub(self.gutter()).max(1);
        let longest = self.lines.iter().map(Line::width).max().unwrap_or(0);
        self.hscroll = self
            .hscroll
            .saturating_add_signed(delta)
            .min(longest.saturating_sub(text));
    }

    fn clamp(&mut self, height: usize) {
        let max = self.lines.len().saturating_sub(height.max(1));
        self.scroll = self.scroll.min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pane(n: usize) -> SourcePane {
        let mut p = SourcePane::default();
        let lines = (0..n).map(|i| Line::raw(format!("line {i}"))).collect();
        p.loaded("demo/cot.lua".into(), lines, 10);
        p
    }

    #[test]
    fn reveal_brings_line_into_view_and_clamps() {
        let mut p = pane(100);
        p.reveal(50, 10);
        assert!(p.scroll <= 49 && 49 < p.scroll + 10);
        p.reveal(100, 10);
        assert_eq!(p.scroll, 90);
        p.reveal(1, 10);
        assert_eq!(p.scroll, 0);
        p.scroll_by(-5, 10);
        assert_eq!(p.scroll, 0);
        p.scroll_to(false, 10);
        assert_eq!(p.scroll, 90);
    }

    #[test]
    fn matches_chunk_names() {
        let p = pane(1);
        assert!(p.shows("demo/cot.lua"));
        assert!(p.shows("@demo/cot.lua"));
        assert!(p.shows("cot.lua"));
        assert!(!p.shows("other.lua"));
    }
}
