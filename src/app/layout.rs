//! Screen geometry, shared by drawing and by the model (mouse hit-testing, page sizes),
//! so both agree on where each pane is. Pure functions of the terminal size.

use ratatui::layout::{Constraint, Layout, Position, Rect};

use super::wrap::wrapped_rows;
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

/// The overlays whose text scrolls: the help, one trace event in full, the result.
/// Their boxes are defined here once: the drawing places them with [`Self::rect`], and
/// the model keeps their scroll within [`Self::max_scroll`] of the same box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOverlay {
    Help,
    Event,
    Result,
    /// The diff overlay (its list and its open texts).
    Diff,
}

impl TextOverlay {
    /// The largest box it takes (columns, rows), borders included.
    const fn size(self) -> (u16, u16) {
        match self {
            TextOverlay::Help => (72, 40),
            TextOverlay::Event => (90, 40),
            TextOverlay::Result => (80, 30),
            TextOverlay::Diff => (100, 40),
        }
    }

    /// Its box on a screen of `area`.
    pub fn rect(self, area: Rect) -> Rect {
        let (width, height) = self.size();
        overlay_rect(area, width, height)
    }

    /// Columns and rows inside the box's borders.
    pub fn inner(self, area: Rect) -> (u16, u16) {
        let rect = self.rect(area);
        (rect.width.saturating_sub(2), rect.height.saturating_sub(2))
    }

    /// The furthest scroll that still fills the box with `text`, wrapped as drawn.
    pub fn max_scroll(self, area: Rect, text: &str) -> u16 {
        let (width, height) = self.inner(area);
        let rows = wrapped_rows(text, width).saturating_sub(usize::from(height));
        u16::try_from(rows).unwrap_or(u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_overlays_fit_the_screen_and_scroll_to_their_last_row() {
        let big = Rect::new(0, 0, 200, 60);
        assert_eq!(TextOverlay::Result.rect(big).width, 80);
        assert_eq!(TextOverlay::Result.inner(big), (78, 28));
        assert_eq!(TextOverlay::Help.inner(big), (70, 38));
        assert_eq!(TextOverlay::Event.inner(big), (88, 38));
        // On a small screen the box shrinks to it, less a margin of one.
        let small = Rect::new(0, 0, 60, 20);
        assert_eq!(TextOverlay::Result.rect(small), Rect::new(1, 1, 58, 18));
        assert_eq!(TextOverlay::Result.inner(small), (56, 16));

        // 100 short lines in 28 rows: the last scroll shows lines 73..=100.
        let text: String = (1..=100).map(|n| format!("{n}\n")).collect();
        assert_eq!(TextOverlay::Result.max_scroll(big, text.trim_end()), 72);
        // A line wider than the box wraps: 78 columns hold 78 characters a row.
        let wide = "x".repeat(78 * 30);
        assert_eq!(TextOverlay::Result.max_scroll(big, &wide), 2);
        assert_eq!(TextOverlay::Result.max_scroll(big, "short"), 0);
    }
}
