//! The Layer 0 primitives that do not pause: JSON, matching, logging, progress,
//! stats, chunking, time and the persistent `alc.state` store.

use std::sync::Arc;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};

use super::{from_json, raw_fn, to_json, PrimError, PrimResult, VmContext};
use crate::engine::event::{LogLevel, SessionEvent};
use crate::engine::state_store::{StateError, StateStore};
use crate::engine::textops::{self, ChunkMode};

fn arg(args: &MultiValue, i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::Nil)
}

fn string_arg(args: &MultiValue, i: usize, what: &str) -> Result<String, PrimError> {
    match arg(args, i) {
        Value::String(s) => Ok(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        v => Err(PrimError::arg(format!(
            "{what} must be a string, got {}",
            v.type_name()
        ))),
    }
}

fn opt_table(args: &MultiValue, i: usize, what: &str) -> Result<Option<Table>, PrimError> {
    match arg(args, i) {
        Value::Nil => Ok(None),
        Value::Table(t) => Ok(Some(t)),
        v => Err(PrimError::arg(format!(
            "{what} must be a table, got {}",
            v.type_name()
        ))),
    }
}

fn ret(lua: &Lua, v: impl IntoLuaMulti) -> PrimResult {
    Ok(v.into_lua_multi(lua)?)
}

fn tostring(lua: &Lua, v: Value) -> Result<String, PrimError> {
    let f: mlua::Function = lua.globals().get("tostring")?;
    Ok(f.call::<String>(v)?)
}

pub(crate) fn register(lua: &Lua, raw: &Table, vm: &Arc<VmContext>) -> mlua::Result<()> {
    raw.set(
        "json_encode",
        raw_fn(lua, |lua, args| {
            let v = to_json(lua, arg(&args, 0)).map_err(|e| {
                PrimError::arg(format!(
                    "alc.json_encode: {}",
                    super::errors::message_of(&e)
                ))
            })?;
            ret(
                lua,
                serde_json::to_string(&v).map_err(|e| PrimError::arg(e.to_string()))?,
            )
        })?,
    )?;
    raw.set(
        "json_decode",
        raw_fn(lua, |lua, args| {
            let s = string_arg(&args, 0, "alc.json_decode: text")?;
            let v: serde_json::Value = serde_json::from_str(&s).map_err(|e| {
                // serde_json's own depth guard (127) trips before ours: same words.
                if e.to_string().starts_with("recursion limit exceeded") {
                    PrimError::arg(format!(
                        "alc.json_decode: {}",
                        super::errors::message_of(&super::convert::too_deep())
                    ))
                } else {
                    PrimError::arg(format!("alc.json_decode: invalid JSON: {e}"))
                }
            })?;
            let v = from_json(lua, &v).map_err(|e| {
                PrimError::arg(format!(
                    "alc.json_decode: {}",
                    super::errors::message_of(&e)
                ))
            })?;
            ret(lua, v)
        })?,
    )?;
    raw.set(
        "match_enum",
        raw_fn(lua, |lua, args| {
            let text = string_arg(&args, 0, "alc.match_enum: text")?;
            let cands: Vec<String> = match arg(&args, 1) {
                Value::Table(t) => t
                    .sequence_values::<Value>()
                    .map(|v| v.map_err(PrimError::from).and_then(|v| tostring(lua, v)))
                    .collect::<Result<_, _>>()?,
                v => {
                    return Err(PrimError::arg(format!(
                        "alc.match_enum: candidates must be an array of strings, got {}",
                        v.type_name()
                    )))
                }
            };
            let threshold = match opt_table(&args, 2, "alc.match_enum: opts")? {
                Some(t) => t.get::<Option<f64>>("threshold")?.unwrap_or(0.7),
                None => 0.7,
            };
            ret(lua, textops::match_enum(&text, &cands, threshold))
        })?,
    )?;
    raw.set(
        "match_bool",
        raw_fn(lua, |lua, args| {
            let text = string_arg(&args, 0, "alc.match_bool: text")?;
            ret(lua, textops::match_bool(&text))
        })?,
    )?;
    raw.set(
        "chunk",
        raw_fn(lua, |lua, args| {
            let text = string_arg(&args, 0, "alc.chunk: text")?;
            let (mut mode, mut size, mut overlap) = (ChunkMode::Lines, 50usize, 0usize);
            if let Some(t) = opt_table(&args, 1, "alc.chunk: opts")? {
                match t.get::<Option<String>>("mode")?.as_deref() {
                    None | Some("lines") => {}
                    Some("chars") => mode = ChunkMode::Chars,
                    Some(m) => {
                        return Err(PrimError::arg(format!(
                            "alc.chunk: mode must be \"lines\" or \"chars\", got \"{m}\""
                        )))
                    }
                }
                size = t.get::<Option<i64>>("size")?.unwrap_or(50).max(0) as usize;
                overlap = t.get::<Option<i64>>("overlap")?.unwrap_or(0).max(0) as usize;
            }
            let parts = textops::chunk(&text, mode, size, overlap);
            ret(lua, super::arrays::array_from(lua, parts)?)
        })?,
    )?;
    let v = vm.clone();
    raw.set(
        "log",
        raw_fn(lua, move |lua, args| {
            let level = match arg(&args, 0) {
                Value::String(s) => LogLevel::parse(&s.to_string_lossy()),
                _ => LogLevel::Info,
            };
            let msg = tostring(lua, arg(&args, 1))?;
            v.core.emit(SessionEvent::Log { level, msg });
            ret(lua, ())
        })?,
    )?;
    let v = vm.clone();
    raw.set(
        "progress",
        raw_fn(lua, move |lua, args| {
            let num = |i: usize, what: &str| -> Result<i64, PrimError> {
                match arg(&args, i) {
                    Value::Integer(n) => Ok(n),
                    Value::Number(n) => Ok(n as i64),
                    v => Err(PrimError::arg(format!(
                        "alc.progress: {what} must be a number, got {}",
                        v.type_name()
                    ))),
                }
            };
            let (step, total) = (num(0, "step")?, num(1, "total")?);
            let msg = match arg(&args, 2) {
                Value::Nil => None,
                m => Some(tostring(lua, m)?),
            };
            v.core.emit(SessionEvent::Progress { step, total, msg });
            ret(lua, ())
        })?,
    )?;
    let v = vm.clone();
    raw.set(
        "stats.record",
        raw_fn(lua, move |lua, args| {
            let key = string_arg(&args, 0, "alc.stats.record: key")?;
            let value = to_json(lua, arg(&args, 1))?;
            v.core.counters().record_stat(key.clone(), value.clone());
            v.core.emit(SessionEvent::Stat { key, value });
            ret(lua, ())
        })?,
    )?;
    let v = vm.clone();
    raw.set(
        "stats.get",
        raw_fn(lua, move |lua, args| {
            let key = string_arg(&args, 0, "alc.stats.get: key")?;
            match v.core.counters().stat(&key) {
                Some(val) => ret(lua, from_json(lua, &val)?),
                None => ret(lua, Value::Nil),
            }
        })?,
    )?;
    raw.set(
        "time",
        raw_fn(lua, |lua, _| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            ret(lua, now)
        })?,
    )?;
    register_state(lua, raw, vm)
}

/// A state store failure as the Lua error of the call (it names the file).
fn state_err(e: StateError) -> PrimError {
    PrimError::arg(e.to_string())
}

/// `alc.state.*` for the namespace `ctx._ns` (default "default"). Every call goes to
/// the file (see `state_store`): fork children, other sessions and other processes
/// share it, so nothing is cached here. `_read` and `_swap` are the steps of
/// `alc.state.update`; the prelude takes them out of `alc.state` before any
/// strategy runs.
fn register_state(lua: &Lua, raw: &Table, vm: &Arc<VmContext>) -> mlua::Result<()> {
    let ns = vm
        .ctx
        .get("_ns")
        .and_then(|v| v.as_str())
        .unwrap_or("default")
        .to_string();
    let dir = vm.core.settings.state_dir.clone();
    type Op =
        fn(&Lua, &StateStore, &MultiValue) -> Result<(MultiValue, Option<&'static str>), PrimError>;
    let ops: [(&str, Op); 9] = [
        ("get", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.get: key")?;
            let v = match s.get(&k).map_err(state_err)? {
                Some(v) => from_json(lua, &v)?,
                None => arg(a, 1),
            };
            Ok((v.into_lua_multi(lua)?, None))
        }),
        ("set", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.set: key")?;
            let v = to_json(lua, arg(a, 1))?;
            s.set(&k, v).map_err(state_err)?;
            Ok((MultiValue::new(), Some("set")))
        }),
        ("keys", |lua, s, _| {
            let keys = s.keys().map_err(state_err)?;
            Ok((
                super::arrays::array_from(lua, keys)?.into_lua_multi(lua)?,
                None,
            ))
        }),
        ("delete", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.delete: key")?;
            let existed = s.delete(&k).map_err(state_err)?;
            Ok((existed.into_lua_multi(lua)?, Some("delete")))
        }),
        ("has", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.has: key")?;
            Ok((s.has(&k).map_err(state_err)?.into_lua_multi(lua)?, None))
        }),
        ("set_nx", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.set_nx: key")?;
            let v = to_json(lua, arg(a, 1))?;
            let done = s.set_nx(&k, v).map_err(state_err)?;
            Ok((done.into_lua_multi(lua)?, Some("set_nx")))
        }),
        ("incr", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.incr: key")?;
            let num = |i: usize, d: f64| -> Result<f64, PrimError> {
                match arg(a, i) {
                    Value::Nil => Ok(d),
                    Value::Integer(n) => Ok(n as f64),
                    Value::Number(n) => Ok(n),
                    v => Err(PrimError::arg(format!(
                        "alc.state.incr: expected a number, got {}",
                        v.type_name()
                    ))),
                }
            };
            let n = s.incr(&k, num(1, 1.0)?, num(2, 0.0)?).map_err(state_err)?;
            let n = match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            };
            Ok((n.into_lua_multi(lua)?, Some("incr")))
        }),
        // (key) -> value or nil, version or nil
        ("_read", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.update: key")?;
            let out = match s.get_versioned(&k).map_err(state_err)? {
                Some((value, version)) => (
                    from_json(lua, &value)?,
                    Value::String(lua.create_string(version)?),
                ),
                None => (Value::Nil, Value::Nil),
            };
            Ok((out.into_lua_multi(lua)?, None))
        }),
        // (key, version seen or nil, new value or nil to delete) -> swapped?
        ("_swap", |lua, s, a| {
            let k = string_arg(a, 0, "alc.state.update: key")?;
            let seen = match arg(a, 1) {
                Value::String(v) => Some(v.to_str()?.to_string()),
                _ => None,
            };
            let new = match arg(a, 2) {
                Value::Nil => None,
                v => Some(to_json(lua, v).map_err(|e| {
                    PrimError::arg(format!(
                        "alc.state.update: the new value cannot be stored: {}",
                        super::errors::message_of(&e)
                    ))
                })?),
            };
            let swapped = s
                .compare_and_swap(&k, seen.as_deref(), new)
                .map_err(state_err)?;
            let event = swapped.then_some("update");
            Ok((swapped.into_lua_multi(lua)?, event))
        }),
    ];
    for (name, op) in ops {
        let (ns, dir, core) = (ns.clone(), dir.clone(), vm.core.clone());
        raw.set(
            format!("state.{name}"),
            raw_fn(lua, move |lua, args| {
                let store = StateStore::open(&dir, &ns).map_err(state_err)?;
                let (out, write) = op(lua, &store, &args)?;
                if let Some(op) = write {
                    let key = string_arg(&args, 0, "key")?;
                    core.emit(SessionEvent::State {
                        ns: ns.clone(),
                        key,
                        op: op.to_string(),
                    });
                }
                Ok(out)
            })?,
        )?;
    }
    Ok(())
}
