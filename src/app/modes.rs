//! Modes: who answers each query. The mode types (global mode, per call site
//! overrides, what a provider failure does), routing a new query by its mode, and what
//! the mode keys and the answer source's replies do to the Pending pane. Pure: effects
//! only (`AskSource`, `AnswerQuery`, `FailQuery`); the runtime talks to the source.

use super::pending::{Handoff, PendingQuery, QueryStatus};
use super::{App, Effect, Focus};
use crate::answer::SourceError;
use crate::engine::{Answer, AnswerOrigin, Query, QueryId, Site};

/// Shown when auto, review or forward is asked for with no source to ask.
pub const NO_PROVIDER: &str = "no provider configured: start with --provider NAME";

/// Who answers a query: the person (manual), the source at once (auto), or the source
/// as a draft the person edits or accepts (review). Global, and per call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Manual,
    Auto,
    Review,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s.to_ascii_lowercase().as_str() {
            "manual" => Some(Mode::Manual),
            "auto" => Some(Mode::Auto),
            "review" => Some(Mode::Review),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Manual => "MANUAL",
            Mode::Auto => "AUTO",
            Mode::Review => "REVIEW",
        }
    }

    /// The name used in config and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Manual => "manual",
            Mode::Auto => "auto",
            Mode::Review => "review",
        }
    }

    /// manual → auto → review → manual (the global `a` key).
    pub fn next(self) -> Mode {
        match self {
            Mode::Manual => Mode::Auto,
            Mode::Auto => Mode::Review,
            Mode::Review => Mode::Manual,
        }
    }

    /// inherit → manual → auto → review → inherit (a call site's override; `None` is
    /// "inherit the global mode").
    pub fn next_override(current: Option<Mode>) -> Option<Mode> {
        match current {
            None => Some(Mode::Manual),
            Some(Mode::Manual) => Some(Mode::Auto),
            Some(Mode::Auto) => Some(Mode::Review),
            Some(Mode::Review) => None,
        }
    }
}

/// What happens when the provider fails a query it was asked in auto mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnProviderError {
    /// The query goes back to the person, with the error shown (never dropped).
    #[default]
    Ask,
    /// The query fails, so the Lua call raises (`alc.llm_safe` can catch it).
    Fail,
}

impl OnProviderError {
    /// `ask` (also `manual`, `person`) or `fail`.
    pub fn parse(s: &str) -> Option<OnProviderError> {
        match s.to_ascii_lowercase().as_str() {
            "ask" | "manual" | "person" => Some(OnProviderError::Ask),
            "fail" => Some(OnProviderError::Fail),
            _ => None,
        }
    }
}

/// A call site as a map key (`Site` itself is not `Ord`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SiteKey {
    pub file: String,
    pub line: u32,
}

impl From<&Site> for SiteKey {
    fn from(site: &Site) -> Self {
        SiteKey {
            file: site.file.clone(),
            line: site.line,
        }
    }
}

impl std::fmt::Display for SiteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A new query's pending entry, routed by its mode: manual waits for the person; auto
/// and review hand it to the source at once (an `AskSource` effect).
pub(super) fn route(app: &App, query: Query, now_ms: u64, fx: &mut Vec<Effect>) -> PendingQuery {
    let handoff = match app.mode_for(&query) {
        Mode::Manual => None,
        Mode::Auto => Some(Handoff::Auto),
        Mode::Review => Some(Handoff::Review),
    };
    let mut pending = PendingQuery::new(query, QueryStatus::ForYou, now_ms);
    match (handoff, &app.answer_source) {
        (Some(handoff), Some(name)) => hand_over(&mut pending, name.clone(), handoff, fx),
        (Some(_), None) => pending.note = Some(NO_PROVIDER.into()),
        (None, _) => {}
    }
    pending
}

/// Gives `q` to the source, forgetting what a previous request left behind.
fn hand_over(q: &mut PendingQuery, name: String, handoff: Handoff, fx: &mut Vec<Effect>) {
    q.status = QueryStatus::Asking(name);
    q.handoff = Some(handoff);
    q.streamed.clear();
    q.draft = None;
    q.failed = None;
    q.note = None;
    if std::mem::take(&mut q.person_ready_sent) {
        // Drafting is the model's time; the person's starts again with the draft.
        fx.push(Effect::PersonAway(q.query.id.clone()));
    }
    q.request += 1;
    fx.push(Effect::AskSource {
        query: q.query.clone(),
        request: q.request,
    });
}

/// The source's request for `q`, if one is in flight, is no longer wanted.
pub(super) fn drop_request(q: &PendingQuery, fx: &mut Vec<Effect>) {
    if q.is_asking() && q.request > 0 {
        fx.push(Effect::DropRequest {
            id: q.query.id.clone(),
            request: q.request,
        });
    }
}

/// `a`: manual → auto → review. Applies to queries asked from now on.
pub(super) fn cycle_mode(app: &mut App) {
    let Some(name) = app.answer_source.clone() else {
        app.mode = Mode::Manual;
        app.message = Some(NO_PROVIDER.into());
        return;
    };
    app.mode = app.mode.next();
    app.message = Some(match app.mode {
        Mode::Manual => "MANUAL: you answer new queries".to_string(),
        Mode::Auto => format!("AUTO: {name} answers new queries"),
        Mode::Review => format!("REVIEW: {name} drafts new answers; you edit or accept"),
    });
}

/// `m`: cycles the shown query's call site through inherit → manual → auto → review.
/// Applies to the site's next queries (cycling passes through auto, so it must not
/// hand over the one shown); `forward` sends this one.
pub(super) fn cycle_site_mode(app: &mut App) {
    let site = match app.pending.current() {
        None => {
            app.message = Some("no query shown: the site mode is set per query".into());
            return;
        }
        Some(q) => q.query.site.clone(),
    };
    let Some(site) = site else {
        app.message = Some("this query has no call site".into());
        return;
    };
    if app.answer_source.is_none() {
        app.message = Some(NO_PROVIDER.into());
        return;
    }
    let key = SiteKey::from(&site);
    let next = Mode::next_override(app.site_modes.get(&key).copied());
    let what = match next {
        Some(mode) => {
            app.site_modes.insert(key.clone(), mode);
            mode.name().to_string()
        }
        None => {
            app.site_modes.remove(&key);
            format!("inherit ({})", app.mode.name())
        }
    };
    app.message = Some(format!("{key}: {what} from its next query"));
}

/// `f5`: hands the shown query to the source once, whatever the mode. Its reply is a
/// draft if the query's mode is review, else it is sent.
pub(super) fn forward(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(name) = app.answer_source.clone() else {
        app.message = Some(NO_PROVIDER.into());
        return;
    };
    let Some(mode) = app.pending.current().map(|q| app.mode_for(&q.query)) else {
        app.message = Some("no query to forward".into());
        return;
    };
    let Some(q) = app.pending.current_mut() else {
        return;
    };
    match q.status {
        QueryStatus::ForYou => {}
        QueryStatus::Asking(_) if q.failed.is_none() => {
            app.message = Some(format!("{} is already with {name}", q.query.id));
            return;
        }
        _ => {
            app.message = Some(format!("{} is answered", q.query.id));
            return;
        }
    }
    let handoff = if mode == Mode::Review {
        Handoff::Review
    } else {
        Handoff::Forward
    };
    hand_over(q, name, handoff, fx);
}

/// Is there something for `reject` to do: a draft to throw away, a paste that made the
/// answer large to undo, or a request to stop waiting for?
pub(super) fn can_reject(app: &App) -> bool {
    app.pending.current().is_some_and(|q| {
        let pasted = q.large.as_ref().is_some_and(|l| l.before.is_some());
        (q.status == QueryStatus::ForYou && (q.draft.is_some() || pasted)) || q.is_asking()
    })
}

/// `ctrl-r`: drops the draft (or stops waiting for the source, dropping its request so
/// a model stops generating) and leaves the query to the person with an empty editor;
/// a late reply is then ignored. With a large answer of the person's own, undoes the
/// paste that made it large.
pub(super) fn reject(app: &mut App, fx: &mut Vec<Effect>) {
    let name = app.answer_source.clone().unwrap_or_else(|| "source".into());
    let Some(q) = app.pending.current_mut() else {
        return;
    };
    if q.status == QueryStatus::ForYou && q.draft.take().is_some() {
        q.set_editor_text("");
        q.note = Some("draft rejected: answer it yourself".into());
    } else if let Some(before) = q
        .large
        .as_mut()
        .filter(|_| q.status == QueryStatus::ForYou)
        .and_then(|l| l.before.take())
    {
        q.editor = *before;
        q.large = None;
        q.note = Some("large paste undone: the answer is as it was before it".into());
    } else if q.is_asking() {
        drop_request(q, fx);
        q.status = QueryStatus::ForYou;
        q.handoff = None;
        q.streamed.clear();
        q.note = Some(format!("stopped waiting for {name}: answer it yourself"));
    } else {
        return;
    }
    if app.overlay.is_none() {
        app.focus = Focus::Pending;
    }
}

pub(super) fn on_stream_text(app: &mut App, id: &str, request: u64, text: &str) {
    if let Some(q) = app.pending.find_mut(id) {
        if q.is_asking() && q.request == request {
            q.streamed.push_str(text);
        }
    }
}

/// The source's reply: an answer is sent (auto, forward) or drafted (review); a failure
/// comes back to the person, or fails the query (scripted failures; providers with
/// `on_provider_error = fail` in auto mode).
pub(super) fn on_source_reply(
    app: &mut App,
    id: QueryId,
    request: u64,
    result: Result<Answer, SourceError>,
    fx: &mut Vec<Effect>,
) {
    let name = app.answer_source.clone().unwrap_or_else(|| "source".into());
    let fail_on_error = app.on_provider_error == OnProviderError::Fail;
    let is_provider = app.source_is_provider;
    let Some(q) = app.pending.find_mut(&id) else {
        return; // answered or gone meanwhile
    };
    if !q.is_asking() || q.request != request {
        return; // the person took it over, or this answers an earlier hand-over
    }
    let handoff = q.handoff.take().unwrap_or(Handoff::Auto);
    q.streamed.clear();
    let for_you = match result {
        Ok(answer) if handoff == Handoff::Review => {
            q.set_editor_text(&answer.text);
            q.show_from_start();
            q.note = answer.cut_off_note();
            q.draft = Some(answer);
            q.status = QueryStatus::ForYou;
            true
        }
        Ok(answer) => {
            q.status = QueryStatus::Answered {
                source: name,
                text: answer.text.clone(),
            };
            fx.push(Effect::AnswerQuery { id, answer });
            false
        }
        Err(e) => {
            let scripted = !is_provider && matches!(e, SourceError::Failed(_));
            let error = e.to_string();
            q.failed = Some(error.clone());
            if scripted || (is_provider && fail_on_error && handoff == Handoff::Auto) {
                q.note = Some(format!("{name}: {error}"));
                fx.push(Effect::FailQuery { id, error });
                false
            } else {
                q.status = QueryStatus::ForYou;
                q.note = Some(format!("{name}: {error}; answer it yourself"));
                app.message = Some(format!("{id}: {name} failed; it is yours now"));
                true
            }
        }
    };
    if for_you {
        if !app.pending.editing() {
            app.pending.select_next_for_you();
        }
        app.focus = Focus::Pending;
    }
}

/// The answer to send for `q` with the editor's `text`: the draft as it came when
/// accepted unchanged, `provider+edited` (with the draft's model, usage and latency)
/// when changed, else the person's own.
pub(super) fn answer_for(q: &PendingQuery, text: String, clock_ms: u64) -> Answer {
    match &q.draft {
        Some(draft) if draft.text == text => draft.clone(),
        // A recorded answer offered as the draft (rewind, what-if), edited: the
        // person's own.
        Some(draft) if draft.source == AnswerOrigin::Replay => {
            let mut answer = Answer::new(text, AnswerOrigin::Human);
            answer.latency_ms = clock_ms.saturating_sub(q.asked_at_ms);
            answer
        }
        Some(draft) => Answer {
            text,
            source: AnswerOrigin::ProviderEdited,
            model: draft.model.clone(),
            usage: draft.usage,
            latency_ms: draft.latency_ms,
            provider: draft.provider.clone(),
            // What the model did with the draft stays true of it after the edit.
            finish: draft.finish.clone(),
            served_model: draft.served_model.clone(),
        },
        None => {
            let mut answer = Answer::new(text, AnswerOrigin::Human);
            answer.latency_ms = clock_ms.saturating_sub(q.asked_at_ms);
            answer
        }
    }
}
