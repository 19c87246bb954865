//! Draws the question asked when the transcript could not record an answer (the whole
//! error, then the choices with their keys from the keymap), and the path prompt for
//! writing the transcript elsewhere. Touches nothing but the frame.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::overlay::boxed;
use super::{wrapped_rows, View};
use crate::app::layout::overlay_rect;
use crate::app::{Action, KeyContext};

const WIDTH: u16 = 76;

/// The choices: retry, record elsewhere, go on unrecorded, quit.
pub(super) fn choices(frame: &mut Frame, area: Rect, view: &View) {
    let Some(trouble) = &view.app.unrecorded else {
        return;
    };
    let s = &view.theme.slots;
    let keys = &view.app.keymap;
    let waiting = match trouble.held.len() {
        1 => "The strategy is still waiting: the answer was not acknowledged.".to_string(),
        n => format!("The strategy is still waiting: {n} answers were not acknowledged."),
    };
    let mut lines = vec![
        Line::styled(trouble.error.clone(), s.note),
        Line::raw(""),
        Line::raw(waiting),
        Line::raw("What you typed stays in the editor. Choose how to go on:"),
        Line::raw(""),
    ];
    let options = [
        (
            Action::RetryAnswer,
            "retry: record it in the same file again",
        ),
        (
            Action::RecordElsewhere,
            "write the whole transcript to another file, then send",
        ),
        (
            Action::GoUnrecorded,
            "go on without a transcript (this choice is recorded)",
        ),
        (Action::Quit, "quit (the strategy stops unanswered)"),
    ];
    for (action, label) in options {
        if let Some(key) = keys.hint_in(action, KeyContext::Unrecorded) {
            let style = if trouble.working.is_some() {
                s.dim
            } else {
                s.key_hint
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {key:<7}"), style),
                Span::raw(label),
            ]));
        }
    }
    if let Some(working) = &trouble.working {
        lines.push(Line::raw(""));
        lines.push(Line::styled(working.clone(), s.dim));
    }
    let inner_width = WIDTH.min(area.width.saturating_sub(2)).saturating_sub(2);
    let rows: u16 = lines
        .iter()
        .map(|l| word_rows(&l.to_string(), inner_width))
        .sum();
    let rect = overlay_rect(area, WIDTH, rows + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(boxed(view, "Answer not recorded", "choose one"))
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// The path prompt: one line to edit, the error of the last attempt under it.
pub(super) fn path_prompt(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    editor: &TextArea<'static>,
    error: Option<&str>,
) {
    let s = &view.theme.slots;
    let keys = &view.app.keymap;
    let working = view.app.unrecorded.as_ref().and_then(|t| t.working.clone());
    let footer = format!(
        "{} write · {} back",
        keys.hint_in(Action::Select, KeyContext::PathPrompt)
            .unwrap_or_default(),
        keys.hint_in(Action::Close, KeyContext::PathPrompt)
            .unwrap_or_default()
    );
    let intro = "The whole transcript so far is written to this file, then the answer is \
                 sent again and recording goes on there.";
    let inner_width = WIDTH.min(area.width.saturating_sub(2)).saturating_sub(2);
    let mut below: Vec<Line> = Vec::new();
    if let Some(err) = error {
        below.push(Line::styled(err.to_string(), s.note));
    }
    if let Some(w) = working {
        below.push(Line::styled(w, s.dim));
    }
    let intro_rows = word_rows(intro, inner_width);
    let below_rows: u16 = below
        .iter()
        .map(|l| word_rows(&l.to_string(), inner_width))
        .sum();
    // The path wraps by character, so all of it is in view.
    let path = editor.lines().join("");
    let editor_rows = (wrapped_rows(&path, inner_width) as u16).clamp(1, 4);
    let rect = overlay_rect(area, WIDTH, intro_rows + editor_rows + below_rows + 3);
    let block = boxed(view, "Write the transcript elsewhere", &footer);
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let intro_area = Rect {
        height: intro_rows.min(inner.height),
        ..inner
    };
    frame.render_widget(
        Paragraph::new(Line::raw(intro)).wrap(Wrap { trim: true }),
        intro_area,
    );
    let editor_y = inner.y + intro_area.height + 1;
    if editor_y < inner.y + inner.height {
        let editor_area = Rect {
            y: editor_y,
            height: editor_rows.min(inner.y + inner.height - editor_y),
            ..inner
        };
        frame.render_widget(editor, editor_area);
        let rest_y = editor_area.y + editor_area.height;
        let rest = Rect {
            y: rest_y,
            height: (inner.y + inner.height).saturating_sub(rest_y),
            ..inner
        };
        frame.render_widget(Paragraph::new(below).wrap(Wrap { trim: false }), rest);
    }
}

/// Rows `text` takes under ratatui's word wrap at `width`: a word that does not fit
/// starts a new row, a word longer than a row is broken across rows. The boxes here
/// are sized by it, so a long path in an error is never cut off.
fn word_rows(text: &str, width: u16) -> u16 {
    let width = width.max(1) as usize;
    let mut total = 0;
    for line in text.split('\n') {
        let (mut rows, mut col) = (1, 0);
        for word in line.split(' ') {
            let w = Span::raw(word).width();
            if col > 0 && col + 1 + w <= width {
                col += 1 + w;
                continue;
            }
            if col > 0 {
                rows += 1;
            }
            // A word longer than a row fills whole rows, the rest starts the next.
            let full = w.saturating_sub(1) / width;
            rows += full;
            col = w - full * width;
        }
        total += rows;
    }
    total as u16
}
