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
