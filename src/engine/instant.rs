//! Instant answers: a source that can answer a query without waiting on anything (a
//! replay answering from its recording) answers it on the VM thread itself, inside
//! the pause, instead of through the driver.
//!
//! Why: a pause answered through the driver costs several thread hand-offs (the VM
//! thread publishes, the driver's task wakes, answers, and wakes the VM thread), and
//! replaying 10,000 answers was bound by those wake-ups, not by Lua. Answered here,
//! the VM thread records the answer (transcript first, as every answer) and goes on
//! without sleeping; the driver only sees the events.
//!
//! The contract with the driver: the session still publishes every query in its
//! `paused` event (the transcript and the screen need them), then the answers. A
//! driver must not hand a query answered here to its source again; the source that
//! answered it says so (`AnswerSource::answered_inline` in the answer room). Pure
//! engine: this room only defines the hook.

use std::sync::Arc;

use super::event::{Answer, Query};

/// Answers some queries at once, on the VM thread (see the module docs).
pub trait InstantAnswers: Send + Sync {
    /// Called on the VM thread for each query of a pause, in batch index order,
    /// before the pause is published. `Some` answers the query there and then; `None`
    /// leaves it to the driver as usual.
    fn answer_now(&self, query: &Query) -> Option<Answer>;
}

/// The hook as a session setting (see `SessionConfig::instant_answers`).
#[derive(Clone)]
pub struct InstantHook(pub Arc<dyn InstantAnswers>);

impl std::fmt::Debug for InstantHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstantHook(..)")
    }
}
