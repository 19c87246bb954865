//! `alc.fork`: run packages on child VMs, concurrently, as part of this session.
//!
//! Each child is a full VM of its own (own thread via mlua-isle, own globals) built on
//! the same session core, so its queries surface as this session's queries (tagged
//! with the child's package name), its calls count against the same budget, and a
//! cancel stops it too. The parent blocks until every child has finished.

use std::sync::Arc;

use mlua::{IntoLuaMulti, Lua, Table, Value};
use mlua_isle::{Isle, IsleError};

use super::{errors, from_json, raw_fn, setup, to_json, PrimError, VmContext};
use crate::engine::event::{LogLevel, SessionEvent};
use crate::engine::packages::is_valid_name;

/// Runs `require(name).run(ctx)` in a child VM and returns what `run` returned (the
/// ctx with `.result`, or a result table, as the package chose) as JSON text.
fn run_child(lua: &Lua, vm: &VmContext, name: &str) -> Result<String, IsleError> {
    super::install_hook(lua, vm).map_err(|e| IsleError::Lua(e.to_string()))?;
    let code = format!("return require({name:?}).run(ctx)");
    let out = lua
        .load(code)
        .set_name("=alc:fork")
        .eval::<Value>()
        .and_then(|v| to_json(lua, v));
    super::sandbox::flush_output(lua);
    match out {
        Ok(json) => Ok(json.to_string()),
        Err(e) => {
            let err = errors::script_error(&e, vm.core.settings.memory_limit);
            let msg = match &err.site {
                Some(site) if !err.message.starts_with(&site.file) => {
                    format!("{site}: {}", err.message)
                }
                _ => err.message,
            };
            Err(IsleError::Lua(msg))
        }
    }
}

pub(crate) fn register(lua: &Lua, raw: &Table, vm: &Arc<VmContext>) -> mlua::Result<()> {
    let parent = vm.clone();
    raw.set(
        "fork",
        raw_fn(lua, move |lua, args| {
            let mut it = args.into_iter();
            let names: Vec<String> = match it.next() {
                Some(Value::Table(t)) => t
                    .sequence_values::<String>()
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        PrimError::arg("alc.fork: names must be an array of package names")
                    })?,
                _ => {
                    return Err(PrimError::arg(
                        "alc.fork: names must be an array of package names",
                    ))
                }
            };
            if names.is_empty() {
                return Err(PrimError::arg("alc.fork: names is empty"));
            }
            if let Some(bad) = names.iter().find(|n| !is_valid_name(n)) {
                return Err(PrimError::arg(format!(
                    "alc.fork: invalid package name '{bad}' (use [A-Za-z0-9_] only)"
                )));
            }
            let ctx = match it.next() {
                Some(v @ Value::Table(_)) => to_json(lua, v)?,
                None | Some(Value::Nil) => serde_json::json!({}),
                Some(o) => {
                    return Err(PrimError::arg(format!(
                        "alc.fork: ctx must be a table, got {}",
                        o.type_name()
                    )))
                }
            };
            let fail_fast = match it.next() {
                Some(Value::Table(o)) => match o.get::<Option<String>>("on_error")?.as_deref() {
                    None | Some("skip") => false,
                    Some("fail") => true,
                    Some(x) => {
                        return Err(PrimError::arg(format!(
                            "alc.fork: opts.on_error must be \"skip\" or \"fail\", got \"{x}\""
                        )))
                    }
                },
                _ => false,
            };
            if parent.core.is_cancelled() {
                return Err(PrimError::plain("cancelled"));
            }
            parent.core.emit(SessionEvent::Log {
                level: LogLevel::Debug,
                msg: format!("fork: starting {}", names.join(", ")),
            });
            // Start every child first, then wait: they run concurrently.
            let mut running = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let child = Arc::new(VmContext {
                    core: parent.core.clone(),
                    fork: Some(name.clone()),
                    seed: parent.seed.wrapping_add(i as u64 + 1),
                    ctx: ctx.clone(),
                    package_dirs: parent.package_dirs.clone(),
                });
                let for_setup = child.clone();
                let started = Isle::spawn(move |lua| setup(lua, for_setup)).map(|isle| {
                    let (c, n) = (child.clone(), name.clone());
                    let task =
                        isle.spawn_exec(move |lua| super::with_vm_stack(|| run_child(lua, &c, &n)));
                    (isle, task)
                });
                running.push((name.clone(), started));
            }
            let results = lua.create_table()?;
            let mut first_error = None;
            for (i, (name, started)) in running.into_iter().enumerate() {
                let outcome = match started {
                    Ok((isle, task)) => {
                        let r = task.wait();
                        let _ = isle.shutdown();
                        r
                    }
                    Err(e) => Err(e),
                };
                let entry = lua.create_table()?;
                entry.set("strategy", name.as_str())?;
                match outcome.and_then(|s| {
                    serde_json::from_str::<serde_json::Value>(&s)
                        .map_err(|e| IsleError::Lua(e.to_string()))
                }) {
                    Ok(json) => {
                        entry.set("ok", true)?;
                        entry.set("result", from_json(lua, &json)?)?;
                    }
                    Err(e) => {
                        let msg = match e {
                            IsleError::Lua(m) | IsleError::Init(m) => m,
                            IsleError::Cancelled => "cancelled".into(),
                            other => other.to_string(),
                        };
                        first_error
                            .get_or_insert_with(|| format!("alc.fork: {name} failed: {msg}"));
                        entry.set("ok", false)?;
                        entry.set("error", msg)?;
                    }
                }
                results.set(i + 1, entry)?;
            }
            if parent.core.is_cancelled() {
                return Err(PrimError::plain("cancelled"));
            }
            if let (true, Some(err)) = (fail_fast, first_error) {
                return Err(PrimError::plain(err));
            }
            Ok(results.into_lua_multi(lua)?)
        })?,
    )
}
