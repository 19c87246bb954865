//! The engine: runs strategies on their own Lua VMs and reports what they do.
//!
//! This room knows nothing of terminals (no ratatui, no crossterm; `tests/layering.rs`
//! keeps it so). A [`Session`] runs one chunk of Lua on a dedicated VM thread
//! (mlua-isle); every `alc.llm` blocks that thread until the session is told the
//! answer, so the outside world sees an ordered [`Stamped`] event stream and speaks
//! back through `Session::answer`, `Session::fail` and `Session::cancel`.
//!
//! Layers, as ALC_API.md names them: Layer 0 is `lua/` (Rust primitives), Layer 1 is
//! `prelude.lua` (embedded), Layer 2 is `packages.rs` (`require` resolvers).

pub mod budget;
mod core;
mod debug_api;
pub mod debugger;
pub mod determinism;
pub mod error;
pub mod event;
pub mod instant;
mod lua;
pub mod packages;
pub mod pricing;
pub mod replay;
pub mod session;
pub mod state_store;
pub mod textops;
pub mod transcript;
mod vm_life;

pub use budget::Budget;
pub use debugger::{
    BreakpointId, BreakpointInfo, BreakpointState, DebugError, DebugEvent, Frame, Handle,
    ResumeMode, Scope, StopId, StopReason, Variable,
};
pub use error::EngineError;
pub use event::*;
pub use instant::{InstantAnswers, InstantHook};
pub use session::{
    BreakpointSpec, EventStream, RootVmSetup, ScriptInfo, ScriptSpec, Session, SessionConfig,
    CANCEL_GRACE, STUCK_IN_C,
};
