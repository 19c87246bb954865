//! `update`: applies one [`Msg`] to the [`App`] and returns the [`Effect`]s it asks for.
//! Keys become actions through the keymap; unbound keys go to whichever editor has
//! focus. Session events are handled in `events.rs`, answering in `answering.rs`, the
//! picker and ctx editor in `picker.rs`, scrolling in `scrolling.rs`. Pure: no I/O.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::budget::BudgetPane;
use super::pending::QueryStatus;
use super::scrolling::{jump, on_mouse, page, scroll, scroll_prompt, scroll_sideways};
use super::stepping;
use super::{
    answering, events, large, modes, picker, replay, scrolling, unrecorded, Action, App, Effect,
    Focus, KeyChord, Msg, Overlay, Phase, StartRequest,
};
use crate::engine::ResumeMode;

/// Applies `msg` to `app`; returns what the runtime should do.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(key) => {
            app.recording.dismiss();
            on_key(app, key, &mut fx)
        }
        Msg::Mouse(mouse) => {
            if let Some(action) = on_mouse(app, mouse) {
                act(app, action, &mut fx);
            }
        }
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Resize(w, h) => app.size = (w, h),
        Msg::Session(stamped) => events::on_event(app, stamped, &mut fx),
        Msg::SessionEnded => events::on_stream_closed(app, &mut fx),
        Msg::StartFailed(error) => {
            app.session.phase = Phase::Idle;
            app.message = Some(format!("could not start: {error}"));
        }
        Msg::SourceReply {
            id,
            request,
            result,
        } => modes::on_source_reply(app, id, request, result, &mut fx),
        Msg::AnswerRejected { id, error } => {
            if let Some(q) = app.pending.find_mut(&id) {
                q.status = QueryStatus::ForYou;
                q.note = Some(format!("the session refused the answer: {error}"));
            }
            app.message = Some(format!("{id}: {error}"));
        }
        Msg::AnswerUnrecorded { send, path, error } => unrecorded::refused(app, send, path, error),
        Msg::TranscriptRedirected { path, result } => {
            if result.is_ok() {
                app.replay.transcript = Some(path.clone());
                app.recording.moved(path.clone());
            }
            unrecorded::redirected(app, path, result, &mut fx)
        }
        Msg::RecordingStopped => unrecorded::recording_stopped(app, &mut fx),
        Msg::SourceLoaded { file, lines } => {
            let height = app.pane_height(Focus::Source);
            app.source.loaded(file, lines, height);
        }
        Msg::SourceLoadFailed { file, error } => app.source.load_failed(file, error),
        Msg::StreamText { id, request, text } => modes::on_stream_text(app, &id, request, &text),
        Msg::Tick { now_ms, metrics } => {
            if app.is_running() {
                app.session.clock_ms = app.session.clock_ms.max(now_ms);
                if let Some(m) = &metrics {
                    app.budget.observe(m);
                }
                app.recording.tick(app.session.clock_ms);
                notice_stuck(app);
            }
        }
        Msg::Recording { path, shown } => {
            app.replay.transcript = Some(path.clone());
            app.recording.opened(path, shown, app.session.clock_ms)
        }
        Msg::Debug(reply) => stepping::on_reply(app, reply),
        Msg::Terminate => quit_now(app, &mut fx),
        Msg::TranscriptRead { purpose, result } => {
            replay::transcript_read(app, purpose, result, &mut fx)
        }
        Msg::DiffReady(result) => replay::diff_ready(app, result),
        Msg::ScriptChanged(path) => {
            let ours = app.session.script.as_deref().map(std::path::Path::new) == Some(&path);
            if ours {
                app.replay.script_changed = true;
                app.message = Some(replay::changed_note(app));
                if let Some(script) = app.session.script.clone() {
                    app.source.loading = Some(script.clone());
                    fx.push(Effect::LoadScript(script));
                }
            }
        }
    }
    events::sync_after(app, &mut fx);
    scrolling::wrap_prompt(app);
    large::wrap_answer(app);
    fx
}

fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(chord) = KeyChord::from_event(&key) else {
        return;
    };
    let after_cr = std::mem::replace(&mut app.after_cr, false);
    match app.keymap.resolve(chord, &app.key_contexts()) {
        // Nothing to reject: ctrl-r keeps its editor meaning (redo).
        Some(Action::RejectDraft) if app.editing() && !modes::can_reject(app) => {
            type_into_editor(app, key, after_cr);
        }
        // Only a large answer has something to edit: ctrl-e keeps its editor meaning.
        Some(Action::EditLarge) if !large::shown(app) => type_into_editor(app, key, after_cr),
        Some(action) => {
            if !matches!(
                action,
                Action::Submit | Action::SendToAll | Action::ApplyCtx
            ) {
                app.message = None;
            }
            act(app, action, fx);
        }
        None => type_into_editor(app, key, after_cr),
    }
}

/// An unbound key goes to the editor on screen (the ctx editor, the transcript path,
/// the trace search, else the answer editor); behind the too-small notice nothing is
/// on screen, so it goes nowhere.
/// Line breaks of an unbracketed paste arrive as keys: CR is Enter, LF is ctrl-j (the
/// editor's "delete to line start"), CRLF is both; each becomes one newline.
fn type_into_editor(app: &mut App, key: KeyEvent, after_cr: bool) {
    if app.too_small() {
        return;
    }
    let plain = !key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    let key = match key.code {
        KeyCode::Enter if plain => {
            app.after_cr = true;
            key
        }
        KeyCode::Char('j') if key.modifiers == KeyModifiers::CONTROL => {
            if after_cr {
                return; // the LF of a CRLF
            }
            KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
        }
        _ => key,
    };
    if let Some(Overlay::Picker { .. }) = app.overlay {
        match key.code {
            KeyCode::Char(c) if plain => picker::edit_filter(app, Some(c.encode_utf8(&mut [0; 4]))),
            KeyCode::Backspace => picker::edit_filter(app, None),
            _ => {}
        }
        return;
    }
    let editing = app.editing();
    let large_shown = editing && large::shown(app);
    match &mut app.overlay {
        Some(Overlay::Ctx { editor, .. }) => {
            editor.input(key);
        }
        // One line: a path has no newlines.
        Some(Overlay::TranscriptPath { editor, .. }) if key.code != KeyCode::Enter => {
            editor.input(key);
        }
        Some(Overlay::Expression { text }) => match key.code {
            KeyCode::Char(c) if plain => text.push(c),
            KeyCode::Backspace => {
                text.pop();
            }
            _ => {}
        },
        Some(Overlay::Search { query }) => match key.code {
            KeyCode::Char(c) if plain => query.push(c),
            KeyCode::Backspace => {
                query.pop();
            }
            _ => {}
        },
        None if large_shown => large::on_key(app, key),
        None if editing => {
            if let Some(q) = app.pending.current_mut() {
                q.editor.input(key);
            }
        }
        _ => {}
    }
}

/// Performs one keymap action; one that would throw away a query waiting for the
/// person (quit, re-run, open, cancel) asks first.
pub(super) fn act(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    if app.work_at_risk() {
        match action {
            Action::Quit => {
                app.overlay = Some(Overlay::ConfirmQuit);
                return;
            }
            Action::Run | Action::Open | Action::Cancel | Action::ReplayEdited | Action::WhatIf => {
                app.overlay = Some(Overlay::ConfirmDiscard { action });
                return;
            }
            _ => {}
        }
    }
    perform(app, action, fx);
}

/// Performs one keymap action, without asking.
fn perform(app: &mut App, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Quit => quit_now(app, fx),
        Action::Run => match app.session.script {
            Some(_) => {
                if app.is_running() {
                    fx.push(Effect::Cancel);
                }
                start(app, fx);
            }
            None => picker::open(app),
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
            picker::edit_ctx(app, &text, None, None);
        }
        Action::ApplyCtx => picker::apply_ctx(app, fx),
        Action::Open => picker::open(app),
        Action::Help => app.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::ShowResult => match app.session.outcome {
            Some(_) => app.overlay = Some(Overlay::Result { scroll: 0 }),
            None => app.message = Some("no result yet".into()),
        },
        Action::FocusNext => app.focus = app.focus.step(true),
        Action::FocusPrev => app.focus = app.focus.step(false),
        Action::Submit => answering::submit(app, fx),
        Action::SendToAll => answering::send_to_all(app, fx),
        Action::CycleMode => modes::cycle_mode(app),
        Action::SiteMode => modes::cycle_site_mode(app),
        Action::Forward => modes::forward(app, fx),
        Action::RejectDraft => modes::reject(app, fx),
        Action::EditLarge => large::edit(app),
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
        Action::ScrollLeft => scroll_sideways(app, -1),
        Action::ScrollRight => scroll_sideways(app, 1),
        Action::ToggleWrap => {
            app.source.wrap = !app.source.wrap;
            app.source.hscroll = 0;
            app.message = Some(if app.source.wrap {
                "source: long lines wrap".into()
            } else {
                "source: long lines scroll sideways".into()
            });
        }
        Action::TraceFilter => app.trace.cycle_filter(),
        Action::TraceSearch => {
            let query = app.trace.search.clone().unwrap_or_default();
            app.overlay = Some(Overlay::Search { query });
        }
        Action::NextMatch => find_in_trace(app, true),
        Action::PrevMatch => find_in_trace(app, false),
        Action::OpenEvent => {
            if let Some(index) = app.trace.cursor() {
                app.overlay = Some(Overlay::Event { index, scroll: 0 });
            }
        }
        Action::Close | Action::Deny => match &mut app.overlay {
            Some(Overlay::Diff(diff)) if diff.open.is_some() => replay::toggle_open(diff),
            _ => close_overlay(app),
        },
        Action::Confirm => match app.overlay.take() {
            Some(Overlay::ConfirmQuit) => quit_now(app, fx),
            Some(Overlay::ConfirmDiscard { action }) => perform(app, action, fx),
            Some(Overlay::ConfirmEmpty { id }) => answering::send(app, &id, String::new(), fx),
            other => app.overlay = other,
        },
        Action::Select => match app.overlay.take() {
            Some(Overlay::Expression { text }) => stepping::evaluate(app, text, fx),
            Some(Overlay::Search { query }) => {
                app.trace.search = (!query.is_empty()).then_some(query);
                find_in_trace(app, true);
            }
            Some(Overlay::Diff(mut diff)) => {
                replay::toggle_open(&mut diff);
                app.overlay = Some(Overlay::Diff(diff));
            }
            other => {
                app.overlay = other;
                match app.overlay {
                    Some(Overlay::TranscriptPath { .. }) => unrecorded::confirm_path(app, fx),
                    _ => picker::pick(app, fx),
                }
            }
        },
        Action::RetryAnswer => unrecorded::retry(app, fx),
        Action::RecordElsewhere => unrecorded::ask_path(app),
        Action::GoUnrecorded => unrecorded::go_unrecorded(app, fx),
        Action::Suspend => fx.push(Effect::Suspend),
        Action::ReplayEdited => replay::replay_edited(app, fx),
        Action::WhatIf => replay::what_if(app, fx),
        Action::Diff => replay::open_diff(app, fx),
        Action::DiffView => {
            if let Some(Overlay::Diff(diff)) = &mut app.overlay {
                diff.result_view = match diff.result_view {
                    replay::ResultView::SideBySide => replay::ResultView::Json,
                    replay::ResultView::Json => replay::ResultView::SideBySide,
                };
                diff.open = Some(diff.rows() - 1);
                diff.selected = diff.rows() - 1;
                diff.scroll = 0;
            }
        }
        Action::Continue => stepping::resume(app, ResumeMode::Continue, fx),
        Action::StepOver => stepping::resume(app, ResumeMode::StepOver, fx),
        Action::StepInto => stepping::resume(app, ResumeMode::StepInto, fx),
        Action::StepOut => stepping::resume(app, ResumeMode::StepOut, fx),
        Action::Evaluate => stepping::open_expression(app),
        Action::ToggleStack => app.stack.shown = !app.stack.shown,
        Action::Expand => stepping::expand(app, fx),
        Action::ToggleBreakpoint => stepping::toggle_breakpoint(app, fx),
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

/// Closes the overlay; a transcript question still open comes back (it is answered
/// by a choice, not by closing something in front of it).
fn close_overlay(app: &mut App) {
    app.overlay = app.unrecorded.as_ref().map(|_| Overlay::Unrecorded);
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
    start_with(app, None, fx)
}

/// Starts the current script replaying `replay` (with the recorded ctx).
pub(super) fn start_replay(app: &mut App, replay: replay::ReplayStart, fx: &mut Vec<Effect>) {
    app.session.ctx = replay.recording.ctx.clone();
    start_with(app, Some(replay), fx)
}

fn start_with(app: &mut App, replay: Option<replay::ReplayStart>, fx: &mut Vec<Effect>) {
    let Some(script) = app.session.script.clone() else {
        return;
    };
    replay::begin(app, replay.as_ref());

    app.trace.clear();
    app.pending.clear();
    app.budget.reset(BudgetPane::budget_of(&app.session.ctx));
    app.source.clear_marks();
    app.stack.resumed();
    // Read the script again: it may have been edited since the last run.
    app.source.loading = Some(script.clone());
    fx.push(Effect::LoadScript(script.clone()));
    app.session.phase = Phase::Running;
    app.session.outcome = None;
    app.session.cancel_requested = false;
    app.session.cancel_requested_ms = 0;
    app.session.stuck = false;
    app.session.clock_ms = 0;
    app.session.recording_stopped = false;
    unrecorded::forget(app);
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
        replay,
        breakpoints: app.breakpoints.specs.clone(),
    }));
    app.breakpoints.live = None;
    if !app.breakpoints.specs.is_empty() {
        fx.push(Effect::Debug(stepping::DebugRequest::ListBreakpoints));
    }
}

/// A bracketed paste goes to the editor on screen with its line breaks as they were
/// meant: CRLF and lone CR (what many terminals send) become LF.
fn on_paste(app: &mut App, text: &str) {
    if app.too_small() {
        return;
    }
    // A 10 MB paste is copied only when it has a CR to change.
    let text: std::borrow::Cow<str> = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        text.into()
    };
    if let Some(Overlay::Picker { .. }) = app.overlay {
        picker::edit_filter(app, Some(&text));
        return;
    }
    let editing = app.editing();
    match &mut app.overlay {
        Some(Overlay::Ctx { editor, .. }) => {
            editor.insert_str(&text);
        }
        Some(Overlay::Search { query }) => query.push_str(text.lines().next().unwrap_or("")),
        Some(Overlay::Expression { text: e }) => e.push_str(text.lines().next().unwrap_or("")),
        Some(Overlay::TranscriptPath { editor, .. }) => {
            editor.insert_str(text.replace('\n', ""));
        }
        None if editing => large::paste(app, &text),
        _ => {}
    }
}

/// Moves the trace cursor to the next (or previous) entry matching the search.
fn find_in_trace(app: &mut App, forward: bool) {
    let Some(query) = app.trace.search.clone() else {
        let key = app.keymap.hint(Action::TraceSearch).unwrap_or_default();
        app.message = Some(format!("no trace search: {key} starts one"));
        return;
    };
    let height = app.pane_height(Focus::Trace);
    if !app.trace.find(&query, forward, height) {
        app.message = Some(format!("no trace entry matches {query:?}"));
    }
}
