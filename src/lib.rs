//! alc-workbench: a terminal workbench for algocline-style reasoning strategies.
//!
//! Rooms: `engine` (Lua sessions, no terminal), `answer` (answer sources), `provider`
//! (answer sources that call a model over HTTP, or a command by name), `headless`
//! (the `run` command's driver), `limits` (size limits on answers and input files),
//! `cli` (argument parsing and the process edge).
//! The TUI: `app` (the model, pure), `ui` (drawing, pure), `runtime` (terminal and
//! loop), with `theme`, `config` and `highlight` beside them.

pub mod answer;
pub mod cli;
pub mod engine;
pub mod headless;
pub mod limits;
pub mod provider;

pub mod app;
pub mod config;
pub mod highlight;
pub mod runtime;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
pub mod theme;
pub mod ui;
