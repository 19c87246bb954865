//! The model of the TUI: pane states, the messages that change them, and the effects
//! they ask for. `update(&mut App, Msg) -> Vec<Effect>` is pure: no terminal, no files,
//! no session calls (those are the runtime's job), so all of it is unit-tested.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::answer::SourceError;
use crate::engine::{Answer, Metrics, Outcome, Query, QueryId, Stamped, Status};

pub mod action;
mod answering;
pub mod breakpoints;
pub mod budget;
mod chord;
mod events;
pub mod keymap;
pub mod large;
pub mod layout;
pub mod modes;
pub mod overlay;
pub mod pending;
pub mod picker;
pub mod port;
pub mod recording;
pub mod replay;
mod scrolling;
pub mod source;
pub mod stack;
mod stepping;
pub mod trace;
pub mod unrecorded;
mod update;
pub mod wrap;

/// The mark of a cut-off answer, for the screen (the engine owns the word).
pub use crate::engine::CUT_OFF_MARK;
pub use action::Action;
pub use keymap::{ContextStack, KeyChord, KeyContext, Keymap};
pub use modes::{Mode, OnProviderError, SiteKey};
pub use overlay::Overlay;
pub use picker::Choice;
pub use port::{Refusal, SessionPort, StartRequest, StartedSession, Starter};
pub use update::update;

use budget::BudgetPane;
use layout::ScreenLayout;
use pending::PendingPane;
use source::SourcePane;
use stack::StackPane;
use trace::TracePane;
use unrecorded::{HeldSend, Unrecorded};

/// Everything that happens, as the model sees it.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Mouse(crossterm::event::MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// An event of the running session.
    Session(Stamped),
    /// The session's event stream closed.
    SessionEnded,
    /// The starter refused to start a session.
    StartFailed(String),
    /// A non-person answer source replied to a query: to hand-over number `request`
    /// of it (a reply to an earlier hand-over, rejected or replaced, is ignored).
    SourceReply {
        id: QueryId,
        request: u64,
        result: Result<Answer, SourceError>,
    },
    /// The session refused an answer or failure we sent for `id`.
    AnswerRejected {
        id: QueryId,
        error: String,
    },
    /// The transcript at `path` could not record `send`, so the session did not
    /// acknowledge it: the query still waits. `error` is the whole message.
    AnswerUnrecorded {
        send: HeldSend,
        path: PathBuf,
        error: String,
    },
    /// The runtime tried to move the transcript to `path`.
    TranscriptRedirected {
        path: PathBuf,
        result: Result<(), String>,
    },
    /// The session stopped recording its transcript (the person's choice).
    RecordingStopped,
    /// A script file was read and highlighted.
    SourceLoaded {
        file: String,
        lines: Vec<ratatui::text::Line<'static>>,
    },
    SourceLoadFailed {
        file: String,
        error: String,
    },
    /// A piece of answer text streaming in from the source for a query, appended to
    /// what came before.
    StreamText {
        id: QueryId,
        request: u64,
        text: String,
    },
    /// The clock, in ms since the session started, and the engine's figures at that
    /// moment (absent when there is no session to ask); only while a session runs.
    Tick {
        now_ms: u64,
        metrics: Option<Metrics>,
    },
    /// A session started recording its transcript to `path`; `shown` is the path as
    /// the status bar writes it.
    Recording {
        path: PathBuf,
        shown: String,
    },
    /// The session's debugger answered a request (`Effect::Debug`).
    Debug(stack::DebugReply),
    /// SIGTERM or similar: leave now.
    Terminate,
    /// A transcript was read for `R` (edit and replay) or `w` (what-if).
    TranscriptRead {
        purpose: replay::ReadPurpose,
        result: Result<std::sync::Arc<crate::engine::replay::Recording>, String>,
    },
    /// Two transcripts compared for the diff overlay.
    DiffReady(Result<std::sync::Arc<replay::DiffData>, String>),
    /// The watched script file changed on disk.
    ScriptChanged(PathBuf),
}

/// What the model asks the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    AnswerQuery {
        id: QueryId,
        answer: Answer,
    },
    FailQuery {
        id: QueryId,
        error: String,
    },
    Cancel,
    StartSession(StartRequest),
    /// Read and highlight a script (a path or a package name).
    LoadScript(String),
    /// Tell the session the query is ready for the person: their time from now.
    PersonReady(QueryId),
    /// Tell the session the query is no longer the person's (handed to a model
    /// again): their time on it ends now.
    PersonAway(QueryId),
    /// Hand a query to the non-person answer source, as hand-over number `request`
    /// of that query; its text streams back as `Msg::StreamText`, its result as
    /// `Msg::SourceReply`, both tagged with `request`.
    AskSource {
        query: Query,
        request: u64,
    },
    /// Nobody waits for hand-over `request` of query `id` any more: drop it, so a
    /// provider's HTTP request is closed and the server stops generating.
    DropRequest {
        id: QueryId,
        request: u64,
    },
    /// Write the whole transcript to this file and record there from now on; the
    /// result comes back as `Msg::TranscriptRedirected`.
    RedirectTranscript(PathBuf),
    /// Go on without a transcript (recorded as an event); `Msg::RecordingStopped`
    /// comes back.
    StopRecording {
        reason: String,
    },
    /// Read a transcript off the loop task; `Msg::TranscriptRead` comes back.
    ReadTranscript {
        path: PathBuf,
        purpose: replay::ReadPurpose,
    },
    /// Read and compare two transcripts off the loop task; `Msg::DiffReady` comes back.
    DiffTranscripts {
        left: PathBuf,
        right: PathBuf,
    },
    /// A debugger command or inspection, run off the loop task (it waits on the VM
    /// thread); what it answers comes back as `Msg::Debug`.
    Debug(stack::DebugRequest),
    Suspend,
    Quit,
}

/// The four panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Source,
    Pending,
    Trace,
    Budget,
}

impl Focus {
    const ORDER: [Focus; 4] = [Focus::Source, Focus::Pending, Focus::Trace, Focus::Budget];

    pub fn step(self, forward: bool) -> Focus {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Idle,
    Running,
    Ended(Status),
}

/// What the status bar says about the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Idle,
    Running,
    Waiting,
    /// Stopped in the debugger (a breakpoint or a step).
    Stopped,
    Finished,
    Failed,
    Cancelled,
}

impl SessionState {
    pub fn label(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Running => "running",
            SessionState::Waiting => "waiting for you",
            SessionState::Stopped => "stopped",
            SessionState::Finished => "finished",
            SessionState::Failed => "failed",
            SessionState::Cancelled => "cancelled",
        }
    }
}

/// The session being shown.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub phase: Phase,
    pub script: Option<String>,
    pub ctx: Value,
    pub outcome: Option<Outcome>,
    pub cancel_requested: bool,
    /// Session time (ms) when the cancel was asked for.
    pub cancel_requested_ms: u64,
    /// The cancel has not taken after [`crate::engine::CANCEL_GRACE`]: the strategy is
    /// inside a C function the cancel hook cannot reach. Quitting still works.
    pub stuck: bool,
    /// Latest known session time (ms), from events and ticks.
    pub clock_ms: u64,
    /// The person chose to go on without a transcript.
    pub recording_stopped: bool,
}

/// How the App starts; the runtime builds it from CLI options and config.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    pub script: Option<String>,
    pub ctx: Value,
    /// Scripts and packages the picker offers (computed by the CLI).
    pub choices: Vec<Choice>,
    /// The starting mode (auto and review fall back to manual without a source).
    pub mode: Mode,
    pub keymap: Keymap,
    /// Name of the non-person answer source (a provider's name, "answers file"…), if
    /// there is one.
    pub answer_source: Option<String>,
    /// The source is a model provider: all its errors are provider failures. Otherwise
    /// (answers file, command) a `Failed` reply is a scripted failure and fails the query.
    pub source_is_provider: bool,
    /// What a provider failure in auto mode does.
    pub on_provider_error: OnProviderError,
    pub transcript: Option<PathBuf>,
    /// Where the path prompt suggests writing a transcript that failed (the data
    /// directory's transcripts folder).
    pub recovery_dir: Option<PathBuf>,
    /// Start the script at once (else wait for `run`).
    pub autostart: bool,
    pub size: (u16, u16),
    /// The provider's prices (for the Budget pane's cost figure), if configured.
    pub prices: Option<crate::engine::pricing::Prices>,
    /// `--replay TRANSCRIPT [--until N]`: the first run replays it.
    pub replay: Option<replay::ReplayStart>,
    /// `--break FILE:LINE`: breakpoints every run starts with.
    pub breakpoints: Vec<crate::engine::BreakpointSpec>,
}

/// The whole model: pane states composed, plus what is shared between them.
#[derive(Debug, Clone)]
pub struct App {
    pub session: SessionInfo,
    pub source: SourcePane,
    pub pending: PendingPane,
    pub trace: TracePane,
    pub budget: BudgetPane,
    /// Where the debugger stopped the strategy: frames, locals, upvalues.
    pub stack: StackPane,
    /// The breakpoints each run starts with (`--break`, toggled with F9), and the
    /// running session's.
    pub breakpoints: breakpoints::Breakpoints,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    pub keymap: Keymap,
    /// The global mode.
    pub mode: Mode,
    /// Per call site overrides of the mode (absent: inherit the global one).
    pub site_modes: BTreeMap<SiteKey, Mode>,
    pub choices: Vec<Choice>,
    pub answer_source: Option<String>,
    pub source_is_provider: bool,
    pub on_provider_error: OnProviderError,
    pub transcript: Option<PathBuf>,
    pub recovery_dir: Option<PathBuf>,
    /// Answers the transcript could not record, waiting for the person's choice.
    pub unrecorded: Option<Unrecorded>,
    /// A one-line note for the status bar (errors, hints).
    pub message: Option<String>,
    /// The transcripts sessions wrote to, and the "recording to" note.
    pub recording: recording::Recording,
    /// Replay and time travel: the run's replay, what `D` compares, the script watch.
    pub replay: replay::ReplayState,
    pub size: (u16, u16),
    pub quitting: bool,
    /// The last key was a bare Enter (CR): a ctrl-j (LF) right after it is the second
    /// half of a CRLF line break in an unbracketed paste, not a second newline.
    pub(crate) after_cr: bool,
}

impl App {
    /// A new model and the effects to run first (load and maybe start the script, or
    /// open the picker when there is none).
    pub fn new(opts: AppOptions) -> (App, Vec<Effect>) {
        let mut app = App {
            session: SessionInfo {
                script: opts.script.clone(),
                ctx: opts.ctx,
                ..Default::default()
            },
            source: SourcePane::default(),
            pending: PendingPane::default(),
            trace: TracePane::new(),
            budget: BudgetPane::with_prices(opts.prices),
            stack: StackPane::default(),
            breakpoints: breakpoints::Breakpoints::new(opts.breakpoints),
            focus: Focus::Source,
            overlay: None,
            keymap: opts.keymap,
            mode: opts.mode,
            site_modes: BTreeMap::new(),
            choices: opts.choices,
            answer_source: opts.answer_source,
            source_is_provider: opts.source_is_provider,
            on_provider_error: opts.on_provider_error,
            transcript: opts.transcript,
            recovery_dir: opts.recovery_dir,
            unrecorded: None,
            message: None,
            recording: Default::default(),
            replay: Default::default(),
            size: opts.size,
            quitting: false,
            after_cr: false,
        };
        app.budget.reset(BudgetPane::budget_of(&app.session.ctx));
        if app.mode != Mode::Manual && app.answer_source.is_none() {
            app.mode = Mode::Manual;
            app.message = Some(modes::NO_PROVIDER.into());
        }
        let mut effects = Vec::new();
        match (opts.script, opts.replay) {
            (_, Some(start)) => {
                if app.session.script.is_none() {
                    let rec = &start.recording;
                    app.session.script = Some(rec.package.clone().unwrap_or(rec.script.clone()));
                }
                let note = start.note.clone();
                update::start_replay(&mut app, start, &mut effects);
                app.message = note.or(app.message.take());
            }
            (Some(_), None) if opts.autostart => update::start(&mut app, &mut effects),
            (Some(script), None) => {
                app.source.loading = Some(script.clone());
                effects.push(Effect::LoadScript(script));
            }
            (None, None) => picker::open(&mut app),
        }
        (app, effects)
    }

    pub fn state(&self) -> SessionState {
        match self.session.phase {
            Phase::Idle => SessionState::Idle,
            Phase::Running if self.stack.stopped.is_some() => SessionState::Stopped,
            Phase::Running if self.pending.any_for_you() => SessionState::Waiting,
            Phase::Running => SessionState::Running,
            Phase::Ended(Status::Completed) => SessionState::Finished,
            Phase::Ended(Status::Failed) => SessionState::Failed,
            Phase::Ended(Status::Cancelled) => SessionState::Cancelled,
        }
    }

    /// The mode a query is routed by: its call site's override, else the global mode.
    pub fn mode_for(&self, query: &Query) -> Mode {
        self.site_mode(query).unwrap_or(self.mode)
    }

    /// The override set for the query's call site, if any.
    pub fn site_mode(&self, query: &Query) -> Option<Mode> {
        let site = query.site.as_ref()?;
        self.site_modes.get(&SiteKey::from(site)).copied()
    }

    pub fn is_running(&self) -> bool {
        self.session.phase == Phase::Running
    }

    /// The status bar's note while a cancel cannot take (the strategy is stuck in a C
    /// call), naming the key that quits anyway.
    pub fn stuck_note(&self) -> Option<String> {
        if !(self.is_running() && self.session.stuck) {
            return None;
        }
        let quit = self.keymap.hint(Action::Quit).unwrap_or_else(|| "q".into());
        Some(format!(
            "cancel requested · {} — {quit} quits",
            crate::engine::STUCK_IN_C
        ))
    }

    pub fn layout(&self) -> Option<ScreenLayout> {
        ScreenLayout::of(self.screen())
    }

    /// The whole screen, as the drawing gets it.
    pub fn screen(&self) -> ratatui::layout::Rect {
        let (w, h) = self.size;
        ratatui::layout::Rect::new(0, 0, w, h)
    }

    /// Is the "terminal too small" notice shown instead of the panes? Then only the
    /// notice's keys act: nothing reaches a hidden editor or overlay.
    pub fn too_small(&self) -> bool {
        self.layout().is_none()
    }

    /// Would `r`, `o`, `c` or `q` throw away work the person has not sent: a query
    /// waiting for them (with whatever they typed or a draft in its editor)?
    pub fn work_at_risk(&self) -> bool {
        self.is_running() && self.pending.any_for_you()
    }

    /// Inner height of a pane at the current size (0 when too small).
    pub fn pane_height(&self, focus: Focus) -> usize {
        self.layout().map_or(0, |l| l.inner_height(focus))
    }

    /// Is the answer editor taking keys?
    pub fn editing(&self) -> bool {
        self.overlay.is_none()
            && !self.too_small()
            && self.focus == Focus::Pending
            && self.pending.editing()
    }

    /// Keymap contexts active now, most specific first.
    pub fn key_contexts(&self) -> Vec<KeyContext> {
        self.key_stack().contexts().to_vec()
    }

    /// Which set of keymap contexts applies now. Behind the "terminal too small"
    /// notice nothing else is on screen: only its keys act, or its quit question's.
    pub fn key_stack(&self) -> ContextStack {
        let confirming = matches!(
            self.overlay,
            Some(Overlay::ConfirmQuit | Overlay::ConfirmDiscard { .. })
        );
        match &self.overlay {
            _ if self.too_small() && confirming => ContextStack::Confirm,
            _ if self.too_small() => ContextStack::Notice,
            Some(Overlay::Help { .. } | Overlay::Event { .. } | Overlay::Result { .. }) => {
                ContextStack::Overlay
            }
            Some(Overlay::Picker { .. }) => ContextStack::Picker,
            Some(Overlay::Ctx { .. }) => ContextStack::CtxEditor,
            Some(Overlay::Search { .. }) => ContextStack::Search,
            Some(
                Overlay::ConfirmQuit
                | Overlay::ConfirmDiscard { .. }
                | Overlay::ConfirmEmpty { .. },
            ) => ContextStack::Confirm,
            Some(Overlay::Unrecorded) => ContextStack::Unrecorded,
            Some(Overlay::TranscriptPath { .. }) => ContextStack::PathPrompt,
            Some(Overlay::Diff(_)) => ContextStack::Diff,
            Some(Overlay::Expression { .. }) => ContextStack::Expression,
            None if self.editing() => ContextStack::Editing,
            None if self.focus == Focus::Trace && self.stack.shown => ContextStack::Stack,
            None if self.focus == Focus::Pending => ContextStack::Pending,
            None if self.focus == Focus::Trace => ContextStack::Trace,
            None if self.focus == Focus::Source => ContextStack::Source,
            None => ContextStack::Panes,
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_batch;
#[cfg(test)]
mod tests_cancel;
#[cfg(test)]
mod tests_debug;
#[cfg(test)]
mod tests_keys;
#[cfg(test)]
mod tests_large;
#[cfg(test)]
mod tests_modes;
#[cfg(test)]
mod tests_picker;
#[cfg(test)]
mod tests_replay;
#[cfg(test)]
mod tests_truth;
#[cfg(test)]
mod tests_unrecorded;
