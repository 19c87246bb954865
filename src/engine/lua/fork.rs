//! `alc.fork`: run packages on child VMs, concurrently, as part of this session.
//!
//! Each child is a full VM of its own (own thread via mlua-isle, own globals) built on
//! the same session core, so its queries surface as this session's queries (tagged
//! with the child's package name), its calls count against the same budget, and a
//! cancel stops it too. The parent blocks until every child has finished.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

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

/// How often a parent waiting on its children looks at the cancel flag. A child stuck
/// in a C function never reports, so the wait cannot rely on the children alone.
const CANCEL_POLL: Duration = Duration::from_millis(25);

/// Collects the children's results into `outcomes` until every child has reported or
/// the session is cancelled. Returns true when it stopped waiting on a cancel, leaving
/// the children that had not reported as `None`.
fn wait_children(
    parent: &VmContext,
    done: &Receiver<(usize, Result<String, IsleError>)>,
    outcomes: &mut [Option<Result<String, IsleError>>],
) -> bool {
    while outcomes.iter().any(Option::is_none) {
        match done.recv_timeout(CANCEL_POLL) {
            Ok((i, result)) => outcomes[i] = Some(result),
            Err(RecvTimeoutError::Timeout) if parent.core.is_cancelled() => return true,
            Err(RecvTimeoutError::Timeout) => {}
            // Every child thread is gone; those that never reported died.
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    false
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
            // algocline's words: "abort" raises the first child error ("fail" is
            // accepted as an alias); "skip", and any other value, reports it per child.
            let fail_fast = match it.next() {
                Some(Value::Table(o)) => match o.get::<Value>("on_error")? {
                    Value::String(s) => matches!(&*s.as_bytes(), b"abort" | b"fail"),
                    _ => false,
                },
                _ => false,
            };
            if parent.core.is_cancelled() {
                return Err(PrimError::plain("cancelled"));
            }
            // One budget check before the fork pause, as before a batch; each child's
            // own calls are checked again as they come.
            if let Some(msg) = parent.core.budget.exceeded(&parent.core.metrics()) {
                return Err(PrimError::plain(msg));
            }
            parent.core.emit(SessionEvent::Log {
                level: LogLevel::Debug,
                msg: format!("fork: starting {}", names.join(", ")),
            });
            // Start every child first, then wait: they run concurrently. Each child
            // reports on `done` as well as to its isle, so the wait below can also
            // watch the cancel flag.
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let mut isles = Vec::with_capacity(names.len());
            let mut outcomes: Vec<Option<Result<String, IsleError>>> = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let child = Arc::new(VmContext {
                    core: parent.core.clone(),
                    fork: Some(name.clone()),
                    seed: parent.seed.wrapping_add(i as u64 + 1),
                    ctx: ctx.clone(),
                    package_dirs: parent.package_dirs.clone(),
                });
                let for_setup = child.clone();
                match Isle::spawn(move |lua| setup(lua, for_setup)) {
                    Ok(isle) => {
                        let (c, n, tx) = (child.clone(), name.clone(), done_tx.clone());
                        let _task = isle.spawn_exec(move |lua| {
                            let _ = tx.send((i, super::with_vm_stack(|| run_child(lua, &c, &n))));
                            Ok(String::new())
                        });
                        isles.push(isle);
                        outcomes.push(None);
                    }
                    Err(e) => outcomes.push(Some(Err(e))),
                }
            }
            drop(done_tx);
            let abandoned = wait_children(&parent, &done_rx, &mut outcomes);
            if abandoned {
                // A child stuck in a C call would block a join: dropping the isle
                // leaves its thread to end on its own (nothing it does is recorded
                // once the session has ended).
                drop(isles);
                return Err(PrimError::plain("cancelled"));
            }
            for isle in isles {
                let _ = isle.shutdown();
            }
            let results = super::arrays::array_from(lua, Vec::<Value>::new())?;
            let mut first_error = None;
            for (i, (name, outcome)) in names.iter().zip(outcomes).enumerate() {
                // No report at all: the child's thread died (a panic).
                let outcome = outcome.unwrap_or(Err(IsleError::ThreadPanic));
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
