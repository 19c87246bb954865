//! [`WatchedBackend`]: a `TestBackend` that reports every finished frame (as the
//! screen's text) on a channel, so a loop test can wait until the screen shows a state
//! (a draft landed, a query failed) before sending keys — waiting on frames, never on
//! sleeps. A frame drawn means every message before it was applied to the model.

use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

type BackendResult<T> = Result<T, <TestBackend as Backend>::Error>;

/// A test backend that sends the screen text after each flush that changed it.
pub struct WatchedBackend {
    inner: TestBackend,
    frames: UnboundedSender<String>,
    last: String,
}

impl WatchedBackend {
    pub fn new(width: u16, height: u16) -> (WatchedBackend, UnboundedReceiver<String>) {
        let (frames, rx) = unbounded_channel();
        let backend = WatchedBackend {
            inner: TestBackend::new(width, height),
            frames,
            last: String::new(),
        };
        (backend, rx)
    }
}

/// Waits for the first frame for which `wanted` holds and returns it; `None` if the
/// loop ended first.
pub async fn wait_for_screen(
    frames: &mut UnboundedReceiver<String>,
    wanted: impl Fn(&str) -> bool,
) -> Option<String> {
    while let Some(screen) = frames.recv().await {
        if wanted(&screen) {
            return Some(screen);
        }
    }
    None
}

impl Backend for WatchedBackend {
    type Error = <TestBackend as Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> BackendResult<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> BackendResult<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> BackendResult<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> BackendResult<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> BackendResult<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> BackendResult<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> BackendResult<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> BackendResult<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> BackendResult<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> BackendResult<()> {
        self.inner.flush()?;
        let screen = self.inner.to_string();
        if screen != self.last {
            self.last = screen.clone();
            let _ = self.frames.send(screen);
        }
        Ok(())
    }
}
