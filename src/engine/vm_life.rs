//! How a session's Lua states end: a strategy's `os.exit` request, and the count of
//! states still alive (root and fork children) that `Session::wait_vms_closed` waits
//! on. Touches nothing but its own counters (and glibc's free heap pages).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::event::Site;

/// A strategy called `os.exit`: the session ends failed, saying so.
#[derive(Debug, Clone)]
pub(crate) struct ExitRequest {
    pub code: i64,
    /// The forked package that called it, when not the root VM.
    pub fork: Option<String>,
    pub site: Option<Site>,
    /// Set when the engine itself ends the session (an answer given on the VM thread
    /// that the transcript could not record): the whole message.
    pub reason: Option<String>,
}

impl ExitRequest {
    pub fn message(&self) -> String {
        if let Some(reason) = &self.reason {
            return reason.clone();
        }
        let who = match &self.fork {
            Some(name) => format!(" in forked package {name}"),
            None => String::new(),
        };
        format!(
            "os.exit called (code {}){who}: the strategy ended itself",
            self.code
        )
    }
}

/// Poisoned locks only happen after a panic elsewhere; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The number of Lua states of a session still alive.
#[derive(Default)]
pub(crate) struct LiveVms {
    count: Mutex<usize>,
    closed: Condvar,
}

impl LiveVms {
    /// Counts a Lua state as alive until the returned guard is dropped.
    pub fn alive(self: &Arc<Self>) -> VmAlive {
        *lock(&self.count) += 1;
        VmAlive { live: self.clone() }
    }

    /// Waits until every counted state has been dropped; false on timeout.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        let count = lock(&self.count);
        let (count, _) = self
            .closed
            .wait_timeout_while(count, timeout, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        *count == 0
    }
}

/// See [`LiveVms::alive`]; kept in the Lua state's app data, so it drops with the state.
pub(crate) struct VmAlive {
    live: Arc<LiveVms>,
}

impl Drop for VmAlive {
    fn drop(&mut self) {
        // The guard drops after the Lua state has freed its memory. glibc keeps freed
        // heap pages of the VM thread's arena mapped; hand them back, so a finished
        // memory hog does not leave the workbench's RSS at its peak.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory; it takes no pointers.
        unsafe {
            libc::malloc_trim(0);
        }
        let mut count = lock(&self.live.count);
        *count = count.saturating_sub(1);
        self.live.closed.notify_all();
    }
}
