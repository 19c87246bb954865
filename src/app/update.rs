//! `update`: applies one [`Msg`] to the [`App`] and returns the [`Effect`]s it asks for.
//! Keys become actions through the keymap; unbound keys go to whichever editor has
//! focus. Session events are handled in `events.rs`. Pure: no I/O.

use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};
use ratatui_textarea::TextArea;

use super::budget::Budget;
use super::pending::QueryStatus;
use super::{
    events, layout, modes, Action, App, Effect, Focus, KeyChord, Msg, Overlay, Phase, StartRequest,
};

/// Rows one mouse-wheel notch scrolls.
const WHEEL_ROWS: isize = 3;

/// Applies `msg` to `app`; returns what the runtime should do.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(key) => {
            app.recording.dismiss();
            on_key(app, key, &mut fx)
        }
        Msg::Mouse(mouse) => on_mouse(app, mouse),
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Resize(w, h) => app.size = (w, h),
        Msg::Session(stamped) => events::on_event(app, stamped, &mut fx),
        Msg::SessionEnded => events::on_stream_closed(app),
        Msg::StartFailed(error) => {
            app.session.phase = Phase::Idle;
            app.message = Some(format!("could not start: {error}"));
        }
        Msg::SourceReply { id, result } => modes::on_source_reply(app, id, result, &mut fx),
        Msg::AnswerRejected { id, error } => {
            if let Some(q) = app.pending.find_mut(&id) {
                q.status = QueryStatus::ForYou;
                q.note = Some(format!("the session refused the answer: {error}"));
            }
            app.message = Some(format!("{id}: {error}"));
        }
        Msg::SourceLoaded { file, lines } => {
            let height = app.pane_height(Focus::Source);
            app.source.loaded(file, lines, height);
        }
        Msg::SourceLoadFailed { file, error } => app.source.load_failed(file, error),
        Msg::StreamText { id, text } => modes::on_stream_text(app, &id, &text),
        Msg::Tick { now_ms } => {
            if app.is_running() {
                app.session.clock_ms = app.session.clock_ms.max(now_ms);
                app.budget.tick(app.session.clock_ms);
                app.recording.tick(app.session.clock_ms);
                notice_stuck(app);
            }
        }
        Msg::Recording { path, shown } => app.recording.opened(path, shown, app.session.clock_ms),
        Msg::Terminate => quit_now(app, &mut fx),
    }
    events::sync_after(app);
    wrap_prompt(app);
    fx
}

fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(chord) = KeyChord::from_event(&key) else {
        return;
    };
    match app.keymap.resolve(chord, &app.key_contexts()) {
        // Nothing to reject: ctrl-r keeps its editor meaning (redo).
        Some(Action::RejectDraft) if app.editing() && !modes::can_reject(app) => {
            if let Some(q) = app.pending.current_mut() {
                q.editor.input(key);
            }
        }
        Some(action) => {
            if !matches!(action, Action::Submit | Action::ApplyCtx) {
                app.message = None;
            }
            act(app, action, fx);
        }
        None => match (
            &mut app.overlay,
            app.focus == Focus::Pending && app.pending.editing(),
        ) {
            (Some(Overlay::Ctx { editor, .. }), _) => {
                editor.input(key);
            }
            (None, true) => {
                if let Some(q) = app.pending.current_mut() {
                    q.editor.input(key);
                }
            }
            _ => {}
        },
    }
}

/// Performs one keymap action.
pub(super) fn act(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Quit => {
            if app.is_running() && app.pending.any_for_you() {
                app.overlay = Some(Overlay::ConfirmQuit);
            } else {
                quit_now(app, fx);
            }
        }
        Action::Run => match app.session.script {
            Some(_) => {
                if app.is_running() {
                    fx.push(Effect::Cancel);
                }
                start(app, fx);
            }
            None => open_picker(app),
        },
        Action::Cancel => {
            if app.is_running() && !app.session.cancel_requested {
                app.session.cancel_requested = true;
                app.session.cancel_requested_ms = app.session.clock_ms;
                app.message = Some("cancelling…".into());
                fx.push(Effect::Cancel);
            }
        }
        Action::EditCtx => {
            let text = serde_json::to_string_pretty(&app.session.ctx).unwrap_or_default();
            let mut editor = TextArea::new(text.lines().map(str::to_string).collect());
            editor.set_placeholder_text("{}");
            editor.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
            app.overlay = Some(Overlay::Ctx {
                editor: Box::new(editor),
                error: None,
            });
        }
        Action::ApplyCtx => apply_ctx(app),
        Action::Open => open_picker(app),
        Action::Help => app.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::ShowResult => match app.session.outcome {
            Some(_) => app.overlay = Some(Overlay::Result { scroll: 0 }),
            None => app.message = Some("no result yet".into()),
        },
        Action::FocusNext => app.focus = app.focus.step(true),
        Action::FocusPrev => app.focus = app.focus.step(false),
        Action::Submit => submit(app, fx),
        Action::CycleMode => modes::cycle_mode(app),
        Action::SiteMode => modes::cycle_site_mode(app),
        Action::Forward => modes::forward(app, fx),
        Action::RejectDraft => modes::reject(app),
        Action::NextQuery => app.pending.step(true),
        Action::PrevQuery => app.pending.step(false),
        Action::PromptUp => scroll_prompt(app, -page(app, Focus::Pending)),
        Action::PromptDown => scroll_prompt(app, page(app, Focus::Pending)),
        Action::ScrollUp => scroll(app, -1),
        Action::ScrollDown => scroll(app, 1),
        Action::PageUp => scroll(app, -page(app, app.focus)),
        Action::PageDown => scroll(app, page(app, app.focus)),
        Action::Top => jump(app, true),
        Action::Bottom => jump(app, false),
        Action::TraceFilter => app.trace.cycle_filter(),
        Action::OpenEvent => {
            if let Some(index) = app.trace.cursor() {
                app.overlay = Some(Overlay::Event { index, scroll: 0 });
            }
        }
        Action::Close | Action::Deny => app.overlay = None,
        Action::Confirm => match app.overlay.take() {
            Some(Overlay::ConfirmQuit) => quit_now(app, fx),
            Some(Overlay::ConfirmEmpty { id }) => send(app, &id, String::new(), fx),
            other => app.overlay = other,
        },
        Action::Select => pick(app, fx),
        Action::Suspend => fx.push(Effect::Suspend),
    }
}

/// A cancel that has not ended the session within the grace time is stuck in a C call
/// (no `Finished` came): say so, so the person knows to quit.
fn notice_stuck(app: &mut App) {
    let grace = crate::engine::CANCEL_GRACE.as_millis() as u64;
    let since = app
        .session
        .clock_ms
        .saturating_sub(app.session.cancel_requested_ms);
    if app.session.cancel_requested && !app.session.stuck && since >= grace {
        app.session.stuck = true;
        app.message = None;
    }
}

fn quit_now(app: &mut App, fx: &mut Vec<Effect>) {
    if app.is_running() {
        fx.push(Effect::Cancel);
    }
    app.quitting = true;
    fx.push(Effect::Quit);
}

/// Starts (or restarts) the current script with the current ctx.
pub(super) fn start(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(script) = app.session.script.clone() else {
        return;
    };
    app.trace.clear();
    app.pending.clear();
    app.budget.reset(Budget::from_ctx(&app.session.ctx));
    app.source.paused_line = None;
    app.source.error_line = None;
    app.session.phase = Phase::Running;
    app.session.outcome = None;
    app.session.cancel_requested = false;
    app.session.cancel_requested_ms = 0;
    app.session.stuck = false;
    app.session.clock_ms = 0;
    if matches!(
        app.overlay,
        Some(Overlay::Result { .. } | Overlay::Event { .. })
    ) {
        app.overlay = None;
    }
    fx.push(Effect::StartSession(StartRequest {
        script,
        ctx: app.session.ctx.clone(),
        transcript: app.transcript.clone(),
    }));
}

fn open_picker(app: &mut App) {
    if app.choices.is_empty() {
        app.message = Some("no scripts or packages to open".into());
    } else {
        app.overlay = Some(Overlay::Picker { selected: 0 });
    }
}

/// Opens the chosen script and runs it (cancelling a session still running).
fn pick(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(Overlay::Picker { selected }) = app.overlay else {
        return;
    };
    let Some(choice) = app.choices.get(selected).cloned() else {
        return;
    };
    app.overlay = None;
    if app.is_running() {
        fx.push(Effect::Cancel);
    }
    app.session.script = Some(choice.clone());
    fx.push(Effect::LoadScript(choice));
    start(app, fx);
}

fn apply_ctx(app: &mut App) {
    let Some(Overlay::Ctx { editor, error }) = &mut app.overlay else {
        return;
    };
    let text = editor.lines().join("\n");
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(ctx) => {
            app.session.ctx = ctx;
            app.overlay = None;
            app.message = Some("ctx updated; run to use it".into());
        }
        Err(e) => *error = Some(format!("invalid JSON: {e}")),
    }
}

fn submit(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(q) = app.pending.current() else {
        return;
    };
    if q.status != QueryStatus::ForYou {
        return;
    }
    let id = q.query.id.clone();
    let text = q.answer_text();
    if text.trim().is_empty() {
        app.overlay = Some(Overlay::ConfirmEmpty { id });
    } else {
        send(app, &id, text, fx);
    }
}

/// Sends the answer in the editor of `id` (the person's own, or a reviewed draft) and
/// moves on to the next query waiting.
fn send(app: &mut App, id: &str, text: String, fx: &mut Vec<Effect>) {
    let clock = app.session.clock_ms;
    let Some(q) = app.pending.find_mut(id) else {
        return;
    };
    let answer = modes::answer_for(q, text, clock);
    q.status = QueryStatus::Sent;
    q.note = None;
    fx.push(Effect::AnswerQuery {
        id: id.to_string(),
        answer,
    });
    app.pending.select_next_for_you();
}

fn on_paste(app: &mut App, text: &str) {
    let editing = app.editing();
    match &mut app.overlay {
        Some(Overlay::Ctx { editor, .. }) => {
            editor.insert_str(text);
        }
        None if editing => {
            if let Some(q) = app.pending.current_mut() {
                q.editor.insert_str(text);
            }
        }
        _ => {}
    }
}

fn on_mouse(app: &mut App, mouse: MouseEvent) {
    let delta = match mouse.kind {
        MouseEventKind::ScrollUp => -WHEEL_ROWS,
        MouseEventKind::ScrollDown => WHEEL_ROWS,
        MouseEventKind::Down(_) => {
            if app.overlay.is_none() {
                if let Some(pane) = app
                    .layout()
                    .and_then(|l| l.pane_at(mouse.column, mouse.row))
                {
                    app.focus = pane;
                }
            }
            return;
        }
        _ => return,
    };
    if app.overlay.is_some() {
        scroll(app, delta);
        return;
    }
    let Some(pane) = app
        .layout()
        .and_then(|l| l.pane_at(mouse.column, mouse.row))
    else {
        return;
    };
    scroll_pane(app, pane, delta);
}

fn page(app: &App, focus: Focus) -> isize {
    let rows = match app.overlay {
        Some(_) => (app.size.1 as usize).saturating_sub(6),
        None => app.pane_height(focus),
    };
    rows.max(1) as isize
}

/// Scrolls whatever has the keys: an overlay, the picker, or the focused pane.
fn scroll(app: &mut App, delta: isize) {
    match &mut app.overlay {
        Some(
            Overlay::Help { scroll } | Overlay::Event { scroll, .. } | Overlay::Result { scroll },
        ) => {
            *scroll = scroll.saturating_add_signed(delta as i16);
        }
        Some(Overlay::Picker { selected }) => {
            let n = app.choices.len();
            if n > 0 {
                *selected = selected.saturating_add_signed(delta).min(n - 1);
            }
        }
        Some(_) => {}
        None => scroll_pane(app, app.focus, delta),
    }
}

fn scroll_pane(app: &mut App, pane: Focus, delta: isize) {
    let height = app.pane_height(pane);
    match pane {
        Focus::Source => app.source.scroll_by(delta, height),
        Focus::Trace => app.trace.move_cursor(delta, height),
        Focus::Pending => scroll_prompt(app, delta),
        Focus::Budget => {}
    }
}

fn scroll_prompt(app: &mut App, delta: isize) {
    let p = &mut app.pending;
    p.prompt_scroll = p.prompt_scroll.saturating_add_signed(delta);
    clamp_scrolls(app);
}

/// Keeps overlay and prompt scrolls within their content, so scrolling back after
/// "bottom" responds at once. Row counts are estimates from the text and pane width.
fn clamp_scrolls(app: &mut App) {
    let (w, h) = app.size;
    let width = w.saturating_sub(4).min(88);
    let content = match &app.overlay {
        Some(Overlay::Help { .. }) => Some(app.keymap.help_rows().len() + 8),
        Some(Overlay::Event { index, .. }) => app
            .trace
            .get(*index)
            .map(|e| layout::wrapped_rows(&e.body, width) + 2),
        Some(Overlay::Result { .. }) => app.session.outcome.as_ref().map(|o| {
            let text = match &o.error {
                Some(e) => format!(
                    "{}\n\n{}",
                    e.message,
                    e.traceback.clone().unwrap_or_default()
                ),
                None => serde_json::to_string_pretty(&o.result).unwrap_or_default(),
            };
            layout::wrapped_rows(&text, width) + 2
        }),
        _ => None,
    };
    let visible = (h as usize).saturating_sub(6).max(1);
    if let (
        Some(rows),
        Some(Overlay::Help { scroll } | Overlay::Event { scroll, .. } | Overlay::Result { scroll }),
    ) = (content, &mut app.overlay)
    {
        *scroll = (*scroll).min(rows.saturating_sub(visible) as u16);
    }
    if let Some(max) = wrap_prompt(app) {
        app.pending.prompt_scroll = app.pending.prompt_scroll.min(max);
    }
}

/// Keeps the shown query's prompt wrapped for the Pending pane's width (wrapping again
/// only when the query or the width changed: a long prompt is wrapped once, here, not
/// on every frame); returns the last scroll position that still fills the pane.
fn wrap_prompt(app: &mut App) -> Option<usize> {
    let rect = app.layout()?.pending;
    let (width, height) = (rect.width.saturating_sub(2), rect.height.saturating_sub(2));
    let q = app.pending.current_mut()?;
    q.wrap_for(width);
    let note = q
        .note
        .as_deref()
        .map_or(0, |n| super::wrap::wrap(n, width).len());
    let rows = q.rows.as_ref()?.len(note);
    Some(rows.saturating_sub(usize::from(height)))
}

fn jump(app: &mut App, top: bool) {
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
        Focus::Trace => app.trace.jump(top, height),
        Focus::Pending => {
            app.pending.prompt_scroll = if top { 0 } else { usize::MAX };
            clamp_scrolls(app);
        }
        Focus::Budget => {}
    }
}
