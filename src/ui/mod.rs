//! Drawing: a pure function of the model. `draw` lays the screen out with the same
//! geometry the model uses (`app::layout`) and hands each pane a [`View`]. One file per
//! pane; colours only through the theme's semantic slots. Touches nothing but the frame.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::layout::{ScreenLayout, MIN_HEIGHT, MIN_WIDTH};
use crate::app::{Action, App, Focus, Overlay};
use crate::theme::Theme;

mod budget;
mod diff;
mod overlay;
mod pending;
mod source;
mod stack;
mod status;
mod trace;
mod unrecorded;
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
    if view.app.stack.shown {
        stack::render(frame, layout.trace, view);
    } else {
        trace::render(frame, layout.trace, view);
    }
    pending::render(frame, layout.pending, layout.editor, view);
    budget::render(frame, layout.budget, view);
    status::render(frame, layout.status, view);
    overlay::render(frame, area, view);
}

/// The notice shown instead of the panes; its keys come from the keymap's notice
/// context, and the quit question (if one is open) is asked on it.
fn too_small(frame: &mut Frame, area: Rect, view: &View) {
    let keys = &view.app.keymap;
    let mut text = vec![
        Line::styled("terminal too small", view.theme.slots.note),
        Line::styled(
            format!(
                "{}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
                area.width, area.height
            ),
            view.theme.slots.dim,
        ),
    ];
    let question = view
        .app
        .overlay
        .as_ref()
        .filter(|o| matches!(o, Overlay::ConfirmQuit | Overlay::ConfirmDiscard { .. }))
        .and_then(Overlay::question);
    match question {
        Some(question) => {
            text.push(Line::raw(question));
            text.push(Line::styled(
                format!(
                    "{} yes · {} no",
                    keys.hint(Action::Confirm).unwrap_or_default(),
                    keys.hint(Action::Deny).unwrap_or_default()
                ),
                view.theme.slots.key_hint,
            ));
        }
        None => text.push(Line::styled(
            format!("{} quits", keys.hint(Action::Quit).unwrap_or_default()),
            view.theme.slots.dim,
        )),
    }
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .style(view.theme.slots.text),
        area,
    );
}

pub(crate) use crate::app::wrap::wrapped_rows;

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
    use ratatui::backend::TestBackend;
    use ratatui::style::Color;
    use ratatui::Terminal;

    use crate::app::{App, AppOptions};
    use crate::theme::Theme;

    /// Every cell of a screen drawn with `theme` has a background of its own.
    fn every_cell_has_a_background(theme: &str, size: (u16, u16)) {
        let (app, _) = App::new(AppOptions {
            script: Some("demo/cot.lua".into()),
            size,
            ..Default::default()
        });
        let theme = Theme::built_in(theme).unwrap();
        let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
        terminal
            .draw(|f| super::draw(f, &super::View::new(&app, &theme)))
            .unwrap();
        let buffer = terminal.backend().buffer();
        for (i, cell) in buffer.content.iter().enumerate() {
            assert_ne!(
                cell.bg,
                Color::Reset,
                "cell {} of a {}x{} screen has the terminal's background",
                i,
                size.0,
                size.1
            );
        }
    }

    #[test]
    fn the_light_theme_paints_its_own_background() {
        every_cell_has_a_background("light", (100, 30));
        every_cell_has_a_background("light", (30, 8)); // the too-small notice too
        every_cell_has_a_background("high-contrast", (100, 30));
    }

    #[test]
    fn clip_counts_columns_not_bytes() {
        assert_eq!(super::clip("héllo", 3), "hél");
        assert_eq!(super::clip("日本語", 5), "日本");
        assert_eq!(super::clip("ab", 10), "ab");
    }
}
