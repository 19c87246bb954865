//! Layer 0 and the VM around it: everything that runs on a session's Lua thread.
//!
//! A VM is set up in the order ALC_API.md gives: the Rust primitives go into a fresh
//! `alc` table (wrapped by `core.lua` so their errors are plain strings), `ctx` is set
//! from the session's JSON, the embedded prelude (Layer 1) is loaded, and `require` is
//! routed through the package resolvers (Layer 2).
//!
//! Why `alc.llm` blocks the thread instead of yielding a coroutine: the VM has its own
//! OS thread (mlua-isle), so blocking is invisible to everyone else, and it keeps a
//! strategy's own coroutines intact — a yield from inside `coroutine.wrap` would land
//! in the strategy's coroutine, not ours.

mod activelines;
mod arrays;
mod convert;
pub(crate) mod errors;
mod fork;
mod hook;
mod inspect;
mod llm;
mod prims;
mod sandbox;

pub(crate) use convert::{from_json, to_json};
pub(crate) use sandbox::load_text;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mlua::{ChunkMode, Function, IntoLuaMulti, Lua, MultiValue, Value};

use super::core::SessionCore;
use super::event::{LogLevel, SessionEvent};

const CORE_LUA: &str = include_str!("core.lua");
const PRELUDE_LUA: &str = include_str!("../prelude.lua");

/// Stack a VM run must have left when it starts. The deepest path the bounds allow
/// is Lua's own limit of 200 nested C calls going through our Rust callbacks (a
/// `__tostring` that prints itself) with a conversion at `convert::MAX_DEPTH` on
/// top: measured at under 512 KiB in a debug build.
const VM_STACK_RED_ZONE: usize = 1024 * 1024;
/// The segment a run grows onto when less than the red zone is left.
const VM_STACK_SEGMENT: usize = 8 * 1024 * 1024;

/// Runs `f` with at least [`VM_STACK_RED_ZONE`] of stack. mlua-isle spawns VM threads
/// with the default size (`RUST_MIN_STACK` can shrink it), and cannot be told
/// otherwise; normally nothing is allocated here.
pub(crate) fn with_vm_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(VM_STACK_RED_ZONE, VM_STACK_SEGMENT, f)
}

/// What one VM knows about itself.
pub(crate) struct VmContext {
    pub core: Arc<SessionCore>,
    /// Package name when this VM is an `alc.fork` child.
    pub fork: Option<String>,
    pub seed: u64,
    pub ctx: serde_json::Value,
    pub package_dirs: Vec<PathBuf>,
}

/// A primitive's failure: the message, and the `error()` level (2 = blame the
/// strategy line that called us, 0 = no position, for messages that must start with a
/// fixed word such as `budget_exceeded:`).
pub(crate) struct PrimError {
    pub msg: String,
    pub level: u8,
}

impl PrimError {
    pub fn arg(msg: impl Into<String>) -> Self {
        PrimError {
            msg: msg.into(),
            level: 2,
        }
    }
    pub fn plain(msg: impl Into<String>) -> Self {
        PrimError {
            msg: msg.into(),
            level: 0,
        }
    }
}

impl From<mlua::Error> for PrimError {
    fn from(e: mlua::Error) -> Self {
        PrimError::arg(errors::message_of(&e))
    }
}

pub(crate) type PrimResult = Result<MultiValue, PrimError>;

/// Wraps a primitive in the `(ok, value…)` / `(false, msg, level)` protocol `core.lua`
/// lifts into real Lua errors.
pub(crate) fn raw_fn<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> PrimResult + Send + 'static,
{
    lua.create_function(move |lua, args: MultiValue| match f(lua, args) {
        Ok(mut vals) => {
            vals.push_front(Value::Boolean(true));
            Ok(vals)
        }
        Err(e) => (false, e.msg, e.level).into_lua_multi(lua),
    })
}

/// Builds all three layers into a fresh VM.
pub(crate) fn setup(lua: &Lua, vm: Arc<VmContext>) -> mlua::Result<()> {
    with_vm_stack(|| setup_layers(lua, vm))
}

fn setup_layers(lua: &Lua, vm: Arc<VmContext>) -> mlua::Result<()> {
    lua.set_app_data(vm.core.vm_alive());
    lua.set_memory_limit(vm.core.settings.memory_limit)?;
    lua.set_app_data(convert::ConvertLimit(vm.core.settings.memory_limit));
    let raw = lua.create_table()?;
    llm::register(lua, &raw, &vm)?;
    prims::register(lua, &raw, &vm)?;
    fork::register(lua, &raw, &vm)?;
    let math = mlua_mathlib::module(lua)?;
    let flag = vm.core.cancel_flag();
    let is_cancelled = lua.create_function(move |_, ()| Ok(flag.load(Ordering::Relaxed)))?;
    let alc: Value = lua.load(CORE_LUA).set_name("=alc:core").call((
        raw,
        math,
        is_cancelled,
        errors::CANCEL_SENTINEL,
    ))?;
    let globals = lua.globals();
    globals.set("alc", alc)?;
    globals.set("ctx", from_json(lua, &vm.ctx)?)?;
    // print() must never reach the terminal the TUI owns: it becomes an info log.
    // It uses the standard tostring even if a strategy replaces the global.
    let core = vm.core.clone();
    let tostring: Function = globals.get("tostring")?;
    globals.set(
        "print",
        lua.create_function(move |_, args: MultiValue| {
            let mut parts = Vec::with_capacity(args.len());
            for a in args {
                parts.push(tostring.call::<String>(a)?);
            }
            core.emit(SessionEvent::Log {
                level: LogLevel::Info,
                msg: parts.join("\t"),
            });
            Ok(())
        })?,
    )?;
    let seed_fn: Function = lua
        .load("return function(s) math.randomseed(s) end")
        .eval()?;
    seed_fn.call::<()>(vm.seed as i64)?;
    lua.load(PRELUDE_LUA).set_name("=alc:prelude").exec()?;
    super::packages::install(lua, &vm.package_dirs)?;
    sandbox::install(lua, &vm)?;
    install_hook(lua, &vm)?;
    Ok(())
}

/// The cancel check and the debugger, one hook on every thread the VM runs
/// (coroutines included); see `hook.rs`.
pub(crate) fn install_hook(lua: &Lua, vm: &VmContext) -> mlua::Result<()> {
    hook::install(lua, vm)
}

/// Where the strategy called us from: the first Lua frame of a user file.
pub(crate) fn call_site(lua: &Lua) -> Option<super::event::Site> {
    for level in 1..128 {
        let frame = lua.inspect_stack(level, |d| {
            let src = d.source().source.map(|s| s.into_owned());
            (src, d.current_line())
        })?;
        if let (Some(src), Some(line)) = frame {
            if let Some(file) = src.strip_prefix('@') {
                if errors::is_user_file(file) {
                    return Some(super::event::Site {
                        file: file.to_string(),
                        line: line as u32,
                    });
                }
            }
        }
    }
    None
}

/// What the root VM runs.
pub(crate) enum Chunk {
    /// A script file's text, named `@path` so errors read `path:line`.
    File { name: String, code: Vec<u8> },
    /// `return require(name).run(ctx)`.
    Package(String),
    /// Code given directly (tests, embedders).
    Inline { name: String, code: String },
}

/// Runs the session's chunk to the end and reports how it went. Called on the VM
/// thread; emits nothing itself (the caller emits `Finished`).
pub(crate) fn run_root(lua: &Lua, vm: &VmContext, chunk: Chunk) -> super::event::Outcome {
    with_vm_stack(|| run_root_chunk(lua, vm, chunk))
}

fn run_root_chunk(lua: &Lua, vm: &VmContext, chunk: Chunk) -> super::event::Outcome {
    use super::event::{Outcome, ScriptError, Status};
    let limit = vm.core.settings.memory_limit;
    let result = install_hook(lua, vm).and_then(|()| {
        let loaded = match &chunk {
            Chunk::File { name, code } => sandbox::load_text(lua, code, name)?,
            Chunk::Package(p) => lua
                .load(format!("return require({p:?}).run(ctx)"))
                .set_name("=alc:main")
                .set_mode(ChunkMode::Text),
            Chunk::Inline { name, code } => sandbox::load_text(lua, code.as_bytes(), name)?,
        };
        let v: Value = loaded.eval()?;
        to_json(lua, v).map_err(|e| {
            mlua::Error::runtime(format!(
                "the strategy's result cannot be converted to JSON: {}",
                errors::message_of(&e)
            ))
        })
    });
    sandbox::flush_output(lua);
    if let Some(exit) = vm.core.exit_request() {
        return Outcome {
            status: Status::Failed,
            result: None,
            error: Some(ScriptError {
                message: exit.message(),
                site: exit.site,
                traceback: None,
            }),
            metrics: vm.core.metrics(),
        };
    }
    let metrics = vm.core.metrics();
    let cancelled = vm.core.is_cancelled();
    match result {
        Ok(json) if !cancelled => Outcome {
            status: Status::Completed,
            result: Some(json),
            error: None,
            metrics,
        },
        Ok(_) => Outcome {
            status: Status::Cancelled,
            result: None,
            error: None,
            metrics,
        },
        Err(e) => {
            let mut err = errors::script_error(&e, limit);
            let status = if cancelled {
                err = ScriptError {
                    message: "cancelled".into(),
                    ..err
                };
                Status::Cancelled
            } else {
                Status::Failed
            };
            Outcome {
                status,
                result: None,
                error: Some(err),
                metrics,
            }
        }
    }
}
