//! Source pane state: the script's lines (already highlighted by the runtime), the
//! paused call site, the error line, and the scroll position. No I/O: loading and
//! highlighting happen in the runtime and arrive as a message.

use ratatui::text::Line;

/// What the Source pane shows.
#[derive(Debug, Default, Clone)]
pub struct SourcePane {
    /// The file shown (as given: a path or a package name).
    pub file: Option<String>,
    /// Highlighted lines, computed once per load.
    pub lines: Vec<Line<'static>>,
    /// 1-based line of the call the strategy is paused at.
    pub paused_line: Option<u32>,
    /// 1-based line the strategy failed at.
    pub error_line: Option<u32>,
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
}

impl SourcePane {
    pub fn loaded(&mut self, file: String, lines: Vec<Line<'static>>, height: usize) {
        let same_file = self.file.as_deref() == Some(file.as_str());
        self.file = Some(file);
        self.lines = lines;
        self.load_error = None;
        if !same_file {
            self.scroll = 0;
        }
        if let Some(line) = self.reveal_after_load.take() {
            self.reveal(line, height);
        }
        self.clamp(height);
    }

    pub fn load_failed(&mut self, file: String, error: String) {
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

    /// Scrolls so that 1-based `line` is visible, a third of the way down when it moves.
    pub fn reveal(&mut self, line: u32, height: usize) {
        let index = (line as usize).saturating_sub(1);
        if height == 0 {
            return;
        }
        if index < self.scroll || index >= self.scroll + height {
            self.scroll = index.saturating_sub(height / 3);
        }
        self.clamp(height);
    }

    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        self.scroll = self.scroll.saturating_add_signed(delta);
        self.clamp(height);
    }

    pub fn scroll_to(&mut self, top: bool, height: usize) {
        self.scroll = if top { 0 } else { usize::MAX };
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
