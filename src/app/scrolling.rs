//! Scrolling: the mouse wheel and clicks, the scroll and page keys, top and bottom,
//! the Source pane's sideways scroll, kept within what there is to show. Pure: no I/O.

use crossterm::event::{MouseEvent, MouseEventKind};

use super::overlay::scrolling_text;
use super::{large, picker, wrap, App, Focus, Overlay};

/// Rows one mouse-wheel notch scrolls.
const WHEEL_ROWS: isize = 3;

/// A click in the Source gutter: the cursor goes to that line and its breakpoint
/// toggles (the F9 action). Not while wrapping (rows are not lines then).
fn gutter_click(app: &mut App, column: u16, row: u16) -> Option<super::Action> {
    let area = app.layout()?.source;
    let (x, y) = (
        column.checked_sub(area.x + 1)?,
        row.checked_sub(area.y + 1)?,
    );
    let index = app.source.scroll + y as usize;
    if app.source.wrap || x as usize >= app.source.gutter() || index >= app.source.lines.len() {
        return None;
    }
    app.source.cursor = index;
    Some(super::Action::ToggleBreakpoint)
}

pub(super) fn on_mouse(app: &mut App, mouse: MouseEvent) -> Option<super::Action> {
    if app.too_small() {
        return None; // no panes on screen to click or scroll
    }
    let delta = match mouse.kind {
        MouseEventKind::ScrollUp => -WHEEL_ROWS,
        MouseEventKind::ScrollDown => WHEEL_ROWS,
        MouseEventKind::Down(_) => {
            if app.overlay.is_some() {
                return None;
            }
            let pane = app.layout()?.pane_at(mouse.column, mouse.row)?;
            app.focus = pane;
            if pane == Focus::Source {
                return gutter_click(app, mouse.column, mouse.row);
            }
            return None;
        }
        _ => return None,
    };
    if app.overlay.is_some() {
        scroll(app, delta);
        return None;
    }
    let layout = app.layout()?;
    let at = ratatui::layout::Position::new(mouse.column, mouse.row);
    if layout.editor.contains(at) && large::shown(app) {
        large::on_wheel(app, delta > 0);
        return None;
    }
    let pane = layout.pane_at(mouse.column, mouse.row)?;
    scroll_pane(app, pane, delta);
    None
}

/// Columns one sideways step moves the Source pane.
const SIDEWAYS_COLUMNS: isize = 8;

pub(super) fn scroll_sideways(app: &mut App, steps: isize) {
    let width = app.layout().map_or(0, |l| l.source.width.saturating_sub(2));
    app.source
        .scroll_sideways(steps * SIDEWAYS_COLUMNS, width as usize);
}

pub(super) fn page(app: &App, focus: Focus) -> isize {
    let rows = match scrolling_text(app) {
        Some((kind, _)) => usize::from(kind.inner(app.screen()).1),
        None => app.pane_height(focus),
    };
    rows.max(1) as isize
}

/// Scrolls whatever has the keys: an overlay, the picker, or the focused pane.
pub(super) fn scroll(app: &mut App, delta: isize) {
    match &mut app.overlay {
        Some(
            Overlay::Help { scroll } | Overlay::Event { scroll, .. } | Overlay::Result { scroll },
        ) => {
            let delta = i16::try_from(delta).unwrap_or(if delta < 0 { i16::MIN } else { i16::MAX });
            *scroll = scroll.saturating_add_signed(delta);
            clamp_scrolls(app);
        }
        Some(Overlay::Picker { .. }) => picker::move_selection(app, delta),
        Some(Overlay::Diff(diff)) => super::replay::scroll_diff(diff, delta),
        Some(_) => {}
        // Keys move the Source pane's cursor line (the wheel scrolls the view).
        None if app.focus == Focus::Source => {
            let height = app.pane_height(Focus::Source);
            app.source.move_cursor(delta, height);
        }
        None => scroll_pane(app, app.focus, delta),
    }
}

fn scroll_pane(app: &mut App, pane: Focus, delta: isize) {
    let height = app.pane_height(pane);
    match pane {
        Focus::Source => app.source.scroll_by(delta, height),
        Focus::Trace if app.stack.shown => app.stack.move_cursor(delta, height),
        Focus::Trace => app.trace.move_cursor(delta, height),
        Focus::Pending => scroll_prompt(app, delta),
        Focus::Budget => {}
    }
}

pub(super) fn scroll_prompt(app: &mut App, delta: isize) {
    let p = &mut app.pending;
    p.prompt_scroll = p.prompt_scroll.saturating_add_signed(delta);
    clamp_scrolls(app);
}

/// Keeps overlay and prompt scrolls within their content, so scrolling back after
/// "bottom" responds at once. The overlay's limit is the one its drawing uses: the
/// same box (`layout::TextOverlay`) and the same text ([`scrolling_text`]).
fn clamp_scrolls(app: &mut App) {
    if let Some((kind, text)) = scrolling_text(app) {
        let max = kind.max_scroll(app.screen(), &text);
        if let Some(
            Overlay::Help { scroll } | Overlay::Event { scroll, .. } | Overlay::Result { scroll },
        ) = &mut app.overlay
        {
            *scroll = (*scroll).min(max);
        }
    }
    if let Some(max) = wrap_prompt(app) {
        app.pending.prompt_scroll = app.pending.prompt_scroll.min(max);
    }
}

/// Keeps the shown query's prompt wrapped for the Pending pane's width (wrapping again
/// only when the query or the width changed: a long prompt is wrapped once, here, not
/// on every frame); returns the last scroll position that still fills the pane. The
/// drawing, the "more below" marker and this clamp all count the same rows.
pub(super) fn wrap_prompt(app: &mut App) -> Option<usize> {
    let rect = app.layout()?.pending;
    let (width, height) = (rect.width.saturating_sub(2), rect.height.saturating_sub(2));
    let q = app.pending.current_mut()?;
    q.wrap_for(width);
    let note = q.note.as_deref().map_or(0, |n| wrap::wrap(n, width).len());
    let rows = q.rows.as_ref()?.len(note);
    Some(rows.saturating_sub(usize::from(height)))
}

pub(super) fn jump(app: &mut App, top: bool) {
    if let Some(Overlay::Picker { .. }) = app.overlay {
        picker::move_selection(app, if top { isize::MIN } else { isize::MAX });
        return;
    }
    if let Some(
        Overlay::Help { scroll } | Overlay::Event { scroll, .. } | Overlay::Result { scroll },
    ) = &mut app.overlay
    {
        *scroll = if top { 0 } else { u16::MAX / 2 };
        clamp_scrolls(app);
        return;
    }
    let height = app.pane_height(app.focus);
    match app.focus {
        Focus::Source => app.source.scroll_to(top, height),
        Focus::Trace if app.stack.shown => app
            .stack
            .move_cursor(if top { isize::MIN } else { isize::MAX }, height),
        Focus::Trace => app.trace.jump(top, height),
        Focus::Pending => {
            app.pending.prompt_scroll = if top { 0 } else { usize::MAX };
            clamp_scrolls(app);
        }
        Focus::Budget => {}
    }
}
