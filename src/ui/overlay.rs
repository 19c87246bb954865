//! Draws the overlay on top of the panes, if any: help (generated from the keymap), an
//! event in full, the result, the ctx editor, the picker, and yes/no questions (the
//! transcript question is in `unrecorded.rs`).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{clip, trace::kind_style, View};
use crate::app::layout::{overlay_rect, TextOverlay};
use crate::app::overlay::{help_lines, scrolling_text, HelpLine};
use crate::app::trace::clock;
use crate::app::{Action, Overlay};

pub(super) fn render(frame: &mut Frame, area: Rect, view: &View) {
    let Some(overlay) = &view.app.overlay else {
        return;
    };
    match overlay {
        Overlay::Help { scroll } => help(frame, area, view, *scroll),
        Overlay::Event { index, scroll } => event(frame, area, view, *index, *scroll),
        Overlay::Result { scroll } => result(frame, area, view, *scroll),
        Overlay::Ctx {
            editor,
            error,
            run,
            hint,
        } => {
            let rect = overlay_rect(area, 70, 20);
            let apply = view.app.keymap.hint(Action::ApplyCtx).unwrap_or_default();
            let (title, footer) = match run {
                Some(script) => (
                    format!("ctx for {script} (JSON)"),
                    format!("{apply} run · esc cancel"),
                ),
                None => (
                    "ctx (JSON)".to_string(),
                    format!("{apply} apply · esc cancel"),
                ),
            };
            let block = boxed(view, &title, &footer);
            let inner = block.inner(rect);
            frame.render_widget(Clear, rect);
            frame.render_widget(block, rect);
            let mut editor_area = inner;
            let notes = [
                error.as_ref().map(|e| (e, view.theme.slots.note)),
                hint.as_ref().map(|h| (h, view.theme.slots.dim)),
            ];
            for (text, style) in notes.into_iter().flatten() {
                let [msg, rest] = split_top(editor_area, 1);
                frame.render_widget(Paragraph::new(Line::styled(text.clone(), style)), msg);
                editor_area = rest;
            }
            frame.render_widget(editor.as_ref(), editor_area);
        }
        Overlay::Picker { filter, .. } => picker(frame, area, view, filter),
        Overlay::Search { query } => {
            let rect = overlay_rect(area, 60, 3);
            let keys = &view.app.keymap;
            let footer = format!(
                "{} find · {} close",
                keys.hint(Action::Select).unwrap_or_default(),
                keys.hint(Action::Close).unwrap_or_default()
            );
            let block = boxed(view, "Search the trace", &footer);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("/", view.theme.slots.key_hint),
                    Span::raw(query.clone()),
                    Span::styled("▏", view.theme.slots.key_hint),
                ]))
                .block(block),
                rect,
            );
        }
        Overlay::Expression { text } => {
            let rect = overlay_rect(area, 60, 3);
            let keys = &view.app.keymap;
            let footer = format!(
                "{} evaluate · {} close",
                keys.hint_in(Action::Select, crate::app::KeyContext::Expression)
                    .unwrap_or_default(),
                keys.hint_in(Action::Close, crate::app::KeyContext::Expression)
                    .unwrap_or_default()
            );
            let block = boxed(view, "Evaluate in the selected frame", &footer);
            frame.render_widget(Clear, rect);
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("= ", view.theme.slots.key_hint),
                    Span::raw(text.clone()),
                    Span::styled("▏", view.theme.slots.key_hint),
                ]))
                .block(block),
                rect,
            );
        }
        Overlay::ConfirmQuit | Overlay::ConfirmDiscard { .. } | Overlay::ConfirmEmpty { .. } => {
            confirm(frame, area, view, &overlay.question().unwrap_or_default())
        }
        Overlay::Unrecorded => super::unrecorded::choices(frame, area, view),
        Overlay::TranscriptPath { editor, error } => {
            super::unrecorded::path_prompt(frame, area, view, editor, error.as_deref())
        }
        Overlay::Diff(diff) => super::diff::render(frame, area, view, diff),
    }
}

pub(super) fn boxed(view: &View, title: &str, footer: &str) -> Block<'static> {
    Block::bordered()
        .border_style(view.theme.slots.overlay_border)
        .title(Span::styled(format!(" {title} "), view.theme.slots.title))
        .title_bottom(Span::styled(format!(" {footer} "), view.theme.slots.dim))
        .style(view.theme.slots.text)
}

fn split_top(area: Rect, rows: u16) -> [Rect; 2] {
    let rows = rows.min(area.height);
    [
        Rect {
            height: rows,
            ..area
        },
        Rect {
            y: area.y + rows,
            height: area.height - rows,
            ..area
        },
    ]
}

/// A scrollable text box: its box and its scroll limit are the model's
/// ([`TextOverlay`], over the same `plain` text), so what is drawn is what the keys
/// scroll.
pub(super) fn scrolled(
    frame: &mut Frame,
    area: Rect,
    kind: TextOverlay,
    block: Block<'static>,
    lines: Vec<Line<'static>>,
    plain: &str,
    scroll: u16,
) {
    let rect = kind.rect(area);
    let max = kind.max_scroll(area, plain);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(max), 0)),
        rect,
    );
}

fn help(frame: &mut Frame, area: Rect, view: &View, scroll: u16) {
    let Some((kind, plain)) = scrolling_text(view.app) else {
        return;
    };
    let lines = help_lines(&view.app.keymap)
        .into_iter()
        .map(|line| match line {
            HelpLine::Heading(heading) => Line::styled(heading, view.theme.slots.title),
            HelpLine::Binding { keys, desc } => Line::from(vec![
                Span::styled(keys, view.theme.slots.key_hint),
                Span::raw(desc),
            ]),
        })
        .collect();
    scrolled(
        frame,
        area,
        kind,
        boxed(view, "Help", "esc close · ↑↓ scroll"),
        lines,
        &plain,
        scroll,
    );
}

fn event(frame: &mut Frame, area: Rect, view: &View, index: usize, scroll: u16) {
    let (Some(e), Some((kind, plain))) = (view.app.trace.get(index), scrolling_text(view.app))
    else {
        return;
    };
    let header = Line::from(vec![
        Span::styled(clock(e.t_ms), view.theme.slots.trace_time),
        Span::styled(
            format!(" {} {}", e.kind.glyph(), e.head),
            kind_style(&view.theme.slots, e.kind),
        ),
    ]);
    let mut lines = vec![header, Line::raw("")];
    lines.extend(e.body.lines().map(|l| Line::raw(l.to_string())));
    scrolled(
        frame,
        area,
        kind,
        boxed(view, "Event", "esc close · ↑↓ scroll"),
        lines,
        &plain,
        scroll,
    );
}

fn result(frame: &mut Frame, area: Rect, view: &View, scroll: u16) {
    let (Some(outcome), Some((kind, text))) = (&view.app.session.outcome, scrolling_text(view.app))
    else {
        return;
    };
    let lines = text.lines().map(|l| Line::raw(l.to_string())).collect();
    let title = format!("Result · {}", outcome.status.label());
    scrolled(
        frame,
        area,
        kind,
        boxed(view, &title, "esc close · ↑↓ scroll"),
        lines,
        &text,
        scroll,
    );
}

fn picker(frame: &mut Frame, area: Rect, view: &View, filter: &str) {
    let choices = &view.app.choices;
    let Some((list, selected)) = crate::app::picker::shown(view.app) else {
        return;
    };
    let rect = overlay_rect(area, 90, choices.len() as u16 + 5);
    let keys = &view.app.keymap;
    let footer = format!(
        "type to filter · ↑↓ {} {} {} {} · {} open · {} close",
        keys.hint(Action::PageUp).unwrap_or_default(),
        keys.hint(Action::PageDown).unwrap_or_default(),
        keys.hint(Action::Top).unwrap_or_default(),
        keys.hint(Action::Bottom).unwrap_or_default(),
        keys.hint(Action::Select).unwrap_or_default(),
        keys.hint(Action::Close).unwrap_or_default(),
    );
    let block = boxed(view, "Open a script or package", &footer);
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let [filter_row, rest] = split_top(inner, 1);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("/", view.theme.slots.key_hint),
            Span::raw(filter.to_string()),
            Span::styled("▏", view.theme.slots.key_hint),
            view.dim(format!("  {} of {}", list.len(), choices.len())),
        ])),
        filter_row,
    );
    if list.is_empty() {
        let text = if choices.is_empty() {
            "nothing to open"
        } else {
            "nothing matches"
        };
        frame.render_widget(Paragraph::new(view.dim(text)), rest);
        return;
    }
    let height = rest.height.max(1) as usize;
    let start = selected.saturating_sub(height - 1);
    let width = rest.width as usize;
    let name_w = list
        .iter()
        .map(|&i| choices[i].name.chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 2);
    let lines: Vec<Line> = list
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(row, &i)| {
            let c = &choices[i];
            let mark = if row == selected { "▸ " } else { "  " };
            let name = format!("{mark}{:<name_w$}  ", clip_front(&c.name, name_w));
            let used = name.chars().count();
            let desc = clip(
                c.description.as_deref().unwrap_or(""),
                width.saturating_sub(used),
            );
            if row == selected {
                Line::styled(format!("{name}{desc}"), view.theme.slots.selection)
            } else {
                Line::from(vec![Span::raw(name), view.dim(desc)])
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), rest);
}

/// Keeps the end of `s` (a path's file name matters most), `…` in front when cut.
fn clip_front(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n + 1 - width.max(1)).collect();
    format!("…{tail}")
}

pub(super) fn confirm(frame: &mut Frame, area: Rect, view: &View, question: &str) {
    let rect = overlay_rect(area, (question.chars().count() as u16 + 4).max(30), 5);
    let keys = &view.app.keymap;
    let footer = format!(
        "{} yes · {} no",
        keys.hint(Action::Confirm).unwrap_or_default(),
        keys.hint(Action::Deny).unwrap_or_default()
    );
    let block = boxed(view, "Confirm", &footer);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(vec![Line::raw(question.to_string())])
            .block(block)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use serde_json::json;

    use crate::app::{update, App, AppOptions, Msg, Overlay};
    use crate::engine::{Metrics, SessionEvent, Stamped};
    use crate::testkit::{completed, started};
    use crate::theme::Theme;
    use crate::ui::{draw, View};

    fn session(app: &mut App, seq: u64, event: SessionEvent) {
        let stamped = Stamped {
            seq,
            t_ms: seq * 100,
            event,
            metrics: Metrics::default(),
        };
        update(app, Msg::Session(stamped));
    }

    fn press(app: &mut App, code: KeyCode) {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn rows(app: &App) -> Vec<String> {
        let theme = Theme::built_in("dark").unwrap();
        let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
        terminal.draw(|f| draw(f, &View::new(app, &theme))).unwrap();
        let buffer = terminal.backend().buffer();
        (0..app.size.1)
            .map(|y| (0..app.size.0).map(|x| buffer[(x, y)].symbol()).collect())
            .collect()
    }

    /// The model scrolls the Result overlay exactly as far as the drawing can show:
    /// `end` puts the last line on the box's last row, and one step up moves at once.
    #[test]
    fn the_result_scrolls_as_far_as_it_is_drawn() {
        let (mut app, _) = App::new(AppOptions {
            script: Some("demo/cot.lua".into()),
            autostart: true,
            size: (120, 50),
            ..Default::default()
        });
        session(&mut app, 1, started("demo/cot.lua", json!({})));
        let numbers: Vec<u32> = (1..=100).collect();
        session(&mut app, 2, completed(json!(numbers), Metrics::default()));
        assert!(matches!(app.overlay, Some(Overlay::Result { scroll: 0 })));

        // 102 rows of JSON (`[`, 100 numbers, `]`) in the box's 28 inner rows: the
        // 80x30 box sits at (20, 10) on a 120x50 screen.
        press(&mut app, KeyCode::End);
        assert!(
            matches!(app.overlay, Some(Overlay::Result { scroll: 74 })),
            "{:?}",
            app.overlay
        );
        let screen = rows(&app);
        assert!(screen[11].contains("│  74,"), "{}", screen[11]);
        assert!(screen[38].contains("│]  "), "{}", screen[38]);

        press(&mut app, KeyCode::Up);
        assert!(matches!(app.overlay, Some(Overlay::Result { scroll: 73 })));
        assert!(rows(&app)[11].contains("│  73,"));
        // A page is the box's height.
        press(&mut app, KeyCode::Home);
        press(&mut app, KeyCode::PageDown);
        assert!(matches!(app.overlay, Some(Overlay::Result { scroll: 28 })));
    }
}
