//! Drawing: a pure function of the model. `draw` lays the screen out with the same
//! geometry the model uses (`app::layout`) and hands each pane a [`View`]. One file per
//! pane; colours only through the theme's semantic slots. Touches nothing but the frame.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::layout::{ScreenLayout, MIN_HEIGHT, MIN_WIDTH};
use crate::app::{App, Focus};
use crate::theme::Theme;

mod budget;
mod overlay;
mod pending;
mod source;
mod status;
mod trace;
mod wrapped;

/// What drawing needs: the model and the theme.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl<'a> View<'a> {
    pub fn new(app: &'a App, theme: &'a Theme) -> Self {
        View { app, theme }
    }

    /// A pane's bordered block, its border showing focus.
    fn pane_block(&self, pane: Focus, title: Vec<Span<'static>>) -> Block<'static> {
        let focused = self.app.focus == pane && self.app.overlay.is_none();
        Block::bordered()
            .border_style(self.theme.border(focused))
            .title(Line::from(title))
            .style(self.theme.slots.text)
    }

    fn title(&self, text: impl Into<String>) -> Span<'static> {
        Span::styled(format!(" {} ", text.into()), self.theme.slots.title)
    }

    fn dim(&self, text: impl Into<String>) -> Span<'static> {
        Span::styled(text.into(), self.theme.slots.dim)
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, view: &View) {
    let area = frame.area();
    let Some(layout) = ScreenLayout::of(area) else {
        too_small(frame, area, view);
        return;
    };
    source::render(frame, layout.source, view);
    trace::render(frame, layout.trace, view);
    pending::render(frame, layout.pending, layout.editor, view);
    budget::render(frame, layout.budget, view);
    status::render(frame, layout.status, view);
    overlay::render(frame, area, view);
}

fn too_small(frame: &mut Frame, area: Rect, view: &View) {
    let text = vec![
        Line::styled("terminal too small", view.theme.slots.note),
        Line::styled(
            format!(
                "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
                area.width, area.height
            ),
            view.theme.slots.dim,
        ),
        Line::styled("q quits", view.theme.slots.dim),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .style(view.theme.slots.text),
        area,
    );
}

pub(crate) use crate::app::layout::wrapped_rows;

/// Truncates to `width` columns (no allocation per character: rows are clipped on
/// every frame).
pub(crate) fn clip(s: &str, width: usize) -> String {
    let mut used = 0;
    let mut end = 0;
    for (i, ch) in s.char_indices() {
        let next = i + ch.len_utf8();
        let w = Span::raw(&s[i..next]).width();
        if used + w > width {
            break;
        }
        used += w;
        end = next;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn clip_counts_columns_not_bytes() {
        assert_eq!(super::clip("héllo", 3), "hél");
        assert_eq!(super::clip("日本語", 5), "日本");
        assert_eq!(super::clip("ab", 10), "ab");
    }
}
