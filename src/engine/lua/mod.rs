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
pub(crate) mod errors;
mod fork;
mod hook;
mod inspect;
mod llm;
mod prims;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mlua::{
    DeserializeOptions, Function, IntoLuaMulti, Lua, LuaSerdeExt, MultiValue, SerializeOptions,
    Value,
};

use super::core::SessionCore;
use super::event::{LogLevel, SessionEvent};

const CORE_LUA: &str = include_str!("core.lua");
const PRELUDE_LUA: &str = include_str!("../prelude.lua");

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

pub(crate) fn to_json(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    // mlua's defaults, as algocline: a function, thread or userdata other than the
    // null sentinel is an error, never silently dropped.
    lua.from_value_with(
        v,
        DeserializeOptions::new()
            .deny_unsupported_types(true)
            .deny_recursive_tables(true),
    )
}

pub(crate) fn from_json(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    lua.to_value_with(
        v,
        // mlua's defaults, as algocline: JSON null becomes the null sentinel (so
        // `{"a":null}` keeps its key), arrays carry the array metatable.
        SerializeOptions::new()
            .serialize_none_to_null(true)
            .serialize_unit_to_null(true)
            .set_array_metatable(true),
    )
}

/// Builds all three layers into a fresh VM.
pub(crate) fn setup(lua: &Lua, vm: Arc<VmContext>) -> mlua::Result<()> {
    lua.set_memory_limit(vm.core.settings.memory_limit)?;
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
    let core = vm.core.clone();
    globals.set(
        "print",
        lua.create_function(move |lua, args: MultiValue| {
            let tostring: Function = lua.globals().get("tostring")?;
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
    use super::event::{Outcome, ScriptError, Status};
    let limit = vm.core.settings.memory_limit;
    let result = install_hook(lua, vm).and_then(|()| {
        let loaded = match chunk {
            Chunk::File { name, code } => lua.load(code).set_name(format!("@{name}")),
            Chunk::Package(p) => lua
                .load(format!("return require({p:?}).run(ctx)"))
                .set_name("=alc:main"),
            Chunk::Inline { name, code } => lua.load(code).set_name(format!("@{name}")),
        };
        let v: Value = loaded.eval()?;
        to_json(lua, v).map_err(|e| {
            mlua::Error::runtime(format!(
                "the strategy's result cannot be converted to JSON: {}",
                errors::message_of(&e)
            ))
        })
    });
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
