//! The loop: `tokio::select!` over session events, internal messages (answer-source
//! replies and streamed text, loaded files, signals), terminal input and a tick; feeds
//! each through `update` and carries out the effects. Redraws only when something
//! changed, at most 60 times a second; the 4 Hz tick runs only while a session does, so
//! an idle screen costs nothing. Generic over the backend and the input stream so tests drive the real
//! loop on a `TestBackend` with scripted keys.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use crate::engine::packages;
use crossterm::event::{Event, MouseEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::{interval, sleep_until, Interval, MissedTickBehavior};

use super::dispatch::Dispatcher;
use super::terminal::TerminalControl;
use crate::answer::{AnswerSource, SourceError};
use crate::app::unrecorded::HeldSend;
use crate::app::{update, App, Effect, Msg, Refusal, SessionPort, Starter};
use crate::engine::{Query, SessionEvent, Stamped, CANCEL_GRACE};
use crate::theme::Theme;
use crate::ui::{self, View};

/// Shortest time between two frames (60 fps).
const FRAME: Duration = Duration::from_millis(16);
/// The clock tick while a session runs.
const TICK: Duration = Duration::from_millis(250);

/// What the loop needs besides the terminal and the input.
pub struct LoopEnv {
    pub starter: Starter,
    pub answer_source: Option<Arc<dyn AnswerSource>>,
    pub theme: Theme,
    /// Where package sources live (`NAME.lua` or `NAME/init.lua`), for the Source pane.
    pub package_dirs: Vec<PathBuf>,
    pub control: Box<dyn TerminalControl>,
}

/// Internal messages carry the session generation they belong to (0: any), so a reply
/// for a session that was replaced is dropped.
type Tagged = (u64, Msg);

/// Work for the session that may block on the disk (recording an answer syncs the
/// transcript); its message, if any, goes back to the loop.
type SessionJob = Box<dyn FnOnce(&dyn SessionPort) -> Option<Msg> + Send>;

/// The running loop's state.
pub struct EventLoop {
    env: LoopEnv,
    tx: UnboundedSender<Tagged>,
    rx: UnboundedReceiver<Tagged>,
    session: Option<Arc<dyn SessionPort>>,
    events: Option<UnboundedReceiver<Stamped>>,
    generation: u64,
    started_at: Option<Instant>,
    /// Started on the first query handed to the source.
    dispatcher: Option<Dispatcher>,
    /// The queue of this session's blocking jobs (see [`EventLoop::off_loop`]).
    session_jobs: Option<std::sync::mpsc::Sender<SessionJob>>,
    /// The task watching the script file for edits (edit and replay).
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl EventLoop {
    pub fn new(env: LoopEnv) -> Self {
        let (tx, rx) = unbounded_channel();
        EventLoop {
            env,
            tx,
            rx,
            session: None,
            events: None,
            generation: 0,
            started_at: None,
            dispatcher: None,
            session_jobs: None,
            watcher: None,
        }
    }

    /// A way to inject messages from outside (signal handlers).
    pub fn sender(&self) -> impl Fn(Msg) + Send + Sync + 'static {
        let tx = self.tx.clone();
        move |msg| {
            let _ = tx.send((0, msg));
        }
    }

    /// Runs until the model quits or the input ends; `initial` are `App::new`'s effects.
    /// On every way out, a session still running is ended (see `close_session`).
    pub async fn run<B, S>(
        &mut self,
        terminal: &mut Terminal<B>,
        input: S,
        app: &mut App,
        initial: Vec<Effect>,
    ) -> anyhow::Result<()>
    where
        B: Backend,
        S: Stream<Item = io::Result<Event>> + Unpin,
    {
        let result = self.run_until_quit(terminal, input, app, initial).await;
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        self.close_session(app).await;
        result
    }

    /// Ends the session on the way out, so its transcript ends with `end`: cancelled,
    /// then given [`CANCEL_GRACE`] to record its own end; one that does not stop (stuck
    /// in a C call, where cancel cannot reach; no wait when already known to be) is
    /// abandoned. Never joins the VM thread, so a stuck strategy cannot hold the exit.
    async fn close_session(&mut self, app: &App) {
        let Some(session) = self.session.take() else {
            return;
        };
        if !app.is_running() {
            return;
        }
        session.cancel();
        let mut ended = false;
        if let (Some(events), false) = (self.events.as_mut(), app.session.stuck) {
            let finished = async {
                while let Some(stamped) = events.recv().await {
                    if matches!(stamped.event, SessionEvent::Finished(_)) {
                        return true;
                    }
                }
                false
            };
            ended = tokio::time::timeout(CANCEL_GRACE, finished)
                .await
                .unwrap_or(false);
        }
        if !ended {
            session.abandon();
        }
    }

    async fn run_until_quit<B, S>(
        &mut self,
        terminal: &mut Terminal<B>,
        mut input: S,
        app: &mut App,
        initial: Vec<Effect>,
    ) -> anyhow::Result<()>
    where
        B: Backend,
        S: Stream<Item = io::Result<Event>> + Unpin,
    {
        let size = terminal.size().map_err(|e| anyhow!("terminal size: {e}"))?;
        let resize_effects = update(app, Msg::Resize(size.width, size.height));
        self.apply(resize_effects, app, terminal)?;
        self.apply(initial, app, terminal)?;
        let mut dirty = true;
        let mut last_draw: Option<Instant> = None;
        let mut ticker: Option<Interval> = None;
        while !app.quitting {
            match (app.is_running(), ticker.is_some()) {
                (true, false) => {
                    let mut t = interval(TICK);
                    t.set_missed_tick_behavior(MissedTickBehavior::Skip);
                    ticker = Some(t);
                }
                (false, true) => ticker = None,
                _ => {}
            }
            let now = Instant::now();
            if dirty && last_draw.is_none_or(|t| now.duration_since(t) >= FRAME) {
                terminal
                    .draw(|f| ui::draw(f, &View::new(app, &self.env.theme)))
                    .map_err(|e| anyhow!("drawing: {e}"))?;
                dirty = false;
                last_draw = Some(now);
            }
            let next_frame = last_draw.map_or(now, |t| t + FRAME);
            let msg = tokio::select! {
                biased;
                event = next_event(&mut self.events) => match event {
                    Some(stamped) => Msg::Session(stamped),
                    None => {
                        self.events = None;
                        Msg::SessionEnded
                    }
                },
                Some((generation, msg)) = self.rx.recv() => {
                    if generation != 0 && generation != self.generation {
                        continue;
                    }
                    msg
                }
                item = input.next() => match item {
                    Some(Ok(event)) => match input_msg(event) {
                        Some(msg) => msg,
                        None => continue,
                    },
                    Some(Err(e)) => return Err(e).context("reading terminal input"),
                    None => break,
                },
                _ = tick(&mut ticker) => Msg::Tick {
                    now_ms: self.started_at.map_or(0, |t| t.elapsed().as_millis() as u64),
                    metrics: self.session.as_ref().map(|s| s.metrics()),
                },
                _ = sleep_until(next_frame.into()), if dirty => continue,
            };
            let effects = update(app, msg);
            self.apply(effects, app, terminal)?;
            dirty = true;
        }
        Ok(())
    }

    fn apply<B: Backend>(
        &mut self,
        effects: Vec<Effect>,
        app: &mut App,
        terminal: &mut Terminal<B>,
    ) -> anyhow::Result<()> {
        for effect in effects {
            match effect {
                Effect::AnswerQuery { id, answer } => {
                    self.send_off_loop(HeldSend::Answer { id, answer })
                }
                Effect::PersonReady(id) => {
                    // A query already answered or a session already over has nothing
                    // left to time; nothing to report.
                    if let Some(s) = &self.session {
                        let _ = s.person_ready(&id);
                    }
                }
                Effect::PersonAway(id) => {
                    if let Some(s) = &self.session {
                        s.person_away(&id);
                    }
                }
                Effect::FailQuery { id, error } => self.send_off_loop(HeldSend::Fail { id, error }),
                Effect::RedirectTranscript(path) => self.off_loop(move |s| {
                    let result = s.redirect_transcript(&path);
                    Some(Msg::TranscriptRedirected { path, result })
                }),
                Effect::StopRecording { reason } => self.off_loop(move |s| {
                    s.stop_recording(&reason);
                    Some(Msg::RecordingStopped)
                }),
                Effect::Cancel => {
                    if let Some(s) = &self.session {
                        s.cancel();
                    }
                    if let Some(d) = &self.dispatcher {
                        d.drop_all();
                    }
                }
                Effect::StartSession(request) => {
                    // A re-run answers as the first run did: the source starts over.
                    if let Some(d) = &self.dispatcher {
                        d.restart();
                    }
                    self.generation += 1;
                    // The session being replaced was told to cancel; if it has not
                    // finished, end its transcript now rather than leave it open.
                    if let Some(old) = self.session.take() {
                        old.abandon();
                    }
                    self.session_jobs = None;
                    self.events = None;
                    // Edit and replay: the script file is watched from its run on.
                    if let Some(w) = self.watcher.take() {
                        w.abort();
                    }
                    if let crate::engine::ScriptSpec::File(path) =
                        crate::engine::ScriptSpec::parse(&request.script)
                    {
                        let tx = self.tx.clone();
                        let changed = move |path| tx.send((0, Msg::ScriptChanged(path))).is_ok();
                        self.watcher =
                            Some(tokio::spawn(super::replay::watch_script(path, changed)));
                    }
                    match (self.env.starter)(&request) {
                        Ok((port, events)) => {
                            if let Some(path) = port.transcript() {
                                let shown = shown_path(&path);
                                self.send_now(Msg::Recording { path, shown });
                            }
                            self.session = Some(port);
                            self.events = Some(events);
                            self.started_at = Some(Instant::now());
                        }
                        Err(error) => self.send_now(Msg::StartFailed(error)),
                    }
                }
                Effect::LoadScript(name) => self.load_script(name),
                Effect::ReadTranscript { path, purpose } => {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let msg = super::replay::read(&path, purpose);
                        let _ = tx.send((0, msg));
                    });
                }
                Effect::DiffTranscripts { left, right } => {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let msg = Msg::DiffReady(super::replay::compare(&left, &right));
                        let _ = tx.send((0, msg));
                    });
                }

                Effect::AskSource { query, request } => self.ask_source(query, request),
                Effect::DropRequest { id, request } => {
                    if let Some(d) = &self.dispatcher {
                        d.drop_request(id, request);
                    }
                }
                Effect::Debug(request) => {
                    self.off_loop(move |s| Some(Msg::Debug(s.debug(request))))
                }
                Effect::Suspend => {
                    self.env.control.suspend().context("suspending")?;
                    // Repaint everything. Not `Terminal::clear`: it asks the terminal
                    // for the cursor position, which can hang; `resize` does not.
                    let size = terminal.size().map_err(|e| anyhow!("terminal size: {e}"))?;
                    terminal
                        .resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
                        .map_err(|e| anyhow!("redrawing: {e}"))?;
                }
                Effect::Quit => app.quitting = true,
            }
        }
        Ok(())
    }

    /// Hands `query` to the answer source through the dispatcher; with no source the
    /// query comes straight back to the person.
    fn ask_source(&mut self, query: Query, request: u64) {
        let Some(source) = self.env.answer_source.clone() else {
            self.send_now(Msg::SourceReply {
                id: query.id,
                request,
                result: Err(SourceError::Exhausted(
                    crate::app::modes::NO_PROVIDER.into(),
                )),
            });
            return;
        };
        let tx = self.tx.clone();
        let dispatcher = self
            .dispatcher
            .get_or_insert_with(|| Dispatcher::spawn(source, tx));
        dispatcher.ask(self.generation, query, request);
    }

    /// Sends an answer or failure to the session on a blocking task: recording it
    /// writes and syncs the transcript, and the loop never waits on the disk.
    fn send_off_loop(&mut self, send: HeldSend) {
        self.off_loop(move |s| {
            let refused = match &send {
                HeldSend::Answer { id, answer } => s.answer(id, answer.clone()),
                HeldSend::Fail { id, error } => s.fail(id, error),
            };
            // Success needs no message: the session's `Answered` event follows.
            match refused {
                Ok(()) => None,
                Err(Refusal::Unrecorded { path, message }) => Some(Msg::AnswerUnrecorded {
                    send,
                    path,
                    error: message,
                }),
                Err(Refusal::Other(error)) => Some(Msg::AnswerRejected {
                    id: send.id().to_string(),
                    error,
                }),
            }
        });
    }

    /// Runs `job` with the session off the loop task; its message comes back tagged
    /// with this session's generation (dropped if the session was replaced). Jobs run
    /// one at a time in the order they were asked for, on one blocking worker per
    /// session, so answers reach the session (and its transcript) in the order the
    /// person sent them.
    fn off_loop<F>(&mut self, job: F)
    where
        F: FnOnce(&dyn SessionPort) -> Option<Msg> + Send + 'static,
    {
        let Some(session) = self.session.clone() else {
            return;
        };
        let mut job: SessionJob = Box::new(job);
        if let Some(queue) = &self.session_jobs {
            match queue.send(job) {
                Ok(()) => return,
                Err(std::sync::mpsc::SendError(back)) => job = back,
            }
        }
        let (queue, jobs) = std::sync::mpsc::channel::<SessionJob>();
        let _ = queue.send(job);
        self.session_jobs = Some(queue);
        let (tx, generation) = (self.tx.clone(), self.generation);
        tokio::task::spawn_blocking(move || {
            // Ends when the loop drops the queue (session replaced, loop ended).
            while let Ok(job) = jobs.recv() {
                if let Some(msg) = job(session.as_ref()) {
                    let _ = tx.send((generation, msg));
                }
            }
        });
    }

    /// Queues a message for this session generation.
    fn send_now(&self, msg: Msg) {
        let _ = self.tx.send((self.generation, msg));
    }

    /// Reads and highlights a script off the loop task.
    fn load_script(&self, name: String) {
        let tx = self.tx.clone();
        let syntect = self.env.theme.syntect.clone();
        let dirs = self.env.package_dirs.clone();
        tokio::task::spawn_blocking(move || {
            let msg = match script_text(&name, &dirs) {
                Some(Ok(text)) => Msg::SourceLoaded {
                    file: name,
                    lines: crate::highlight::highlight_lua(&text, syntect.as_deref()),
                },
                Some(Err(error)) => Msg::SourceLoadFailed { file: name, error },
                None => Msg::SourceLoadFailed {
                    error: format!("cannot find the source of {name}"),
                    file: name,
                },
            };
            let _ = tx.send((0, msg));
        });
    }
}

/// A script's text: the file itself, a package found the way `require` finds it, or a
/// package bundled into the binary (call sites in those read `bundled/NAME/init.lua`).
pub fn script_text(name: &str, package_dirs: &[PathBuf]) -> Option<Result<String, String>> {
    let direct = Path::new(name.trim_start_matches('@'));
    if direct.is_file() {
        return Some(
            std::fs::read_to_string(direct).map_err(|e| format!("{}: {e}", direct.display())),
        );
    }
    if let Some(rel) = name.strip_prefix("bundled/") {
        return packages::BUNDLED
            .iter()
            .find(|(_, r, _)| *r == rel)
            .map(|(_, _, text)| Ok((*text).to_string()));
    }
    packages::find(name, package_dirs).map(|p| Ok(p.text))
}

/// A path as the status bar writes it: under the home directory as `~/…`.
fn shown_path(path: &Path) -> String {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.as_deref().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

async fn next_event(events: &mut Option<UnboundedReceiver<Stamped>>) -> Option<Stamped> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn input_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) => Some(Msg::Key(key)),
        // Moves and drags change nothing on screen; dropping them here keeps a
        // wandering mouse from causing redraws.
        Event::Mouse(mouse)
            if matches!(mouse.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)) =>
        {
            None
        }
        Event::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        Event::FocusGained | Event::FocusLost => None,
    }
}

#[cfg(test)]
mod tests {
    use super::script_text;

    #[test]
    fn bundled_packages_have_source_text_anywhere() {
        let by_name = script_text("cot", &[]).unwrap().unwrap();
        assert!(by_name.contains("run"));
        let by_site = script_text("bundled/cot/init.lua", &[]).unwrap().unwrap();
        assert_eq!(by_name, by_site);
        assert!(script_text("no_such_thing_here", &[]).is_none());
    }
}
