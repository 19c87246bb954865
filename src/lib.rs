//! alc-workbench: a terminal workbench for algocline-style reasoning strategies.
//!
//! Rooms: `engine` (Lua sessions, no terminal), `answer` (answer sources), `headless`
//! (the `run` command's driver), `cli` (argument parsing and the process edge).

pub mod answer;
pub mod cli;
pub mod engine;
pub mod headless;
