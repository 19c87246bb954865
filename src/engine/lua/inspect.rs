//! Looking at a stopped VM: its frames, a frame's locals and upvalues, tables entry
//! by entry, and expressions evaluated in a frame. Runs on the VM thread only, inside
//! the debug hook while the VM is stopped (the Lua debug API is not thread-safe).
//!
//! Levels count from the stopped function (0) outwards, as `lua_getstack` does inside
//! a hook. The only `unsafe` here is the Lua debug API (`lua_getlocal`,
//! `lua_getupvalue`) through mlua's raw state, each use balanced on the Lua stack.

use std::ffi::CStr;

use mlua::{ffi, Lua, MultiValue, Table, Value};

use super::errors;
use crate::engine::debugger::{DebugError, Frame, Handle, Variable};

/// Marks a VM that is evaluating for the debugger: `alc.llm` refuses while it is set.
pub(crate) struct Evaluating;

/// The error `alc.llm` raises inside a debugger evaluation.
pub(crate) const LLM_REFUSED: &str =
    "alc.llm is refused while stopped in the debugger (an expression may not ask the model)";

/// The error `os.exit` raises inside a debugger evaluation (it would end the session).
pub(crate) const EXIT_REFUSED: &str =
    "os.exit is refused while stopped in the debugger (an expression may not end the run)";

/// Tables seen during one stop, so a front end can expand them later by number.
#[derive(Default)]
pub(crate) struct Handles(Vec<Value>);

impl Handles {
    fn keep(&mut self, v: &Value) -> Handle {
        self.0.push(v.clone());
        self.0.len() as Handle
    }
    fn get(&self, h: Handle) -> Option<&Value> {
        (h as usize).checked_sub(1).and_then(|i| self.0.get(i))
    }
}

pub(crate) fn frames(lua: &Lua) -> Vec<Frame> {
    let mut out = Vec::new();
    for level in 0..256 {
        let frame = lua.inspect_stack(level, |d| {
            let src = d.source();
            let source = src.source.as_deref().unwrap_or("?").to_string();
            let what = src.what;
            let name = d.names().name.map(|n| n.into_owned());
            let line = d.current_line().map(|l| l as u32);
            (source, what, name, line)
        });
        let Some((source, what, name, line)) = frame else {
            break;
        };
        let file = source
            .strip_prefix('@')
            .or_else(|| source.strip_prefix('='))
            .unwrap_or(&source)
            .to_string();
        let internal = what == "C" || !source.starts_with('@') || !errors::is_user_file(&file);
        let function = match (name, what) {
            (Some(n), _) => n,
            (None, "main") => "main chunk".into(),
            _ => "?".into(),
        };
        out.push(Frame {
            level: level as u32,
            function,
            file: if what == "C" { "[C]".into() } else { file },
            line: line.filter(|_| what != "C"),
            internal,
        });
    }
    out
}

/// The stack depth of the running thread (for stepping over and out).
pub(crate) fn depth(lua: &Lua) -> usize {
    lua.exec_raw_lua(|raw| unsafe {
        let l = raw.state();
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let mut n = 0;
        while ffi::lua_getstack(l, n, &mut ar) != 0 {
            n += 1;
        }
        n as usize
    })
}

fn name_of(p: *const std::os::raw::c_char) -> String {
    // SAFETY: Lua hands back NUL-terminated names that live while the frame does.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The frame's locals in declaration order (a later one of the same name shadows).
fn locals(lua: &Lua, level: u32) -> Option<Vec<(String, Value)>> {
    lua.exec_raw_lua(|raw| unsafe {
        let l = raw.state();
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        if ffi::lua_getstack(l, level as i32, &mut ar) == 0 {
            return None;
        }
        let mut out = Vec::new();
        for n in 1..=255 {
            if ffi::lua_checkstack(l, 2) == 0 {
                break;
            }
            let name = ffi::lua_getlocal(l, &ar, n);
            if name.is_null() {
                break;
            }
            let v = raw.pop_value();
            let name = name_of(name);
            // `(temporary)`, `(for state)`, `(vararg)`: Lua's own slots.
            if !name.starts_with('(') {
                out.push((name, v));
            }
        }
        Some(out)
    })
}

fn upvalues(lua: &Lua, level: u32) -> Option<Vec<(String, Value)>> {
    lua.exec_raw_lua(|raw| unsafe {
        let l = raw.state();
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        if ffi::lua_getstack(l, level as i32, &mut ar) == 0 || ffi::lua_checkstack(l, 3) == 0 {
            return None;
        }
        ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar); // pushes the function
        let mut out = Vec::new();
        for n in 1..=255 {
            let name = ffi::lua_getupvalue(l, -1, n);
            if name.is_null() {
                break;
            }
            let v = raw.pop_value();
            let name = match name_of(name) {
                s if s.is_empty() => format!("[{n}]"), // a C function's upvalue
                s => s,
            };
            out.push((name, v));
        }
        ffi::lua_settop(l, -2);
        Some(out)
    })
}

pub(crate) fn variables(
    lua: &Lua,
    level: u32,
    upvals: bool,
    max_len: Option<usize>,
    handles: &mut Handles,
) -> Result<Vec<Variable>, DebugError> {
    let vars = if upvals {
        upvalues(lua, level)
    } else {
        locals(lua, level)
    };
    let vars = vars.ok_or(DebugError::NoFrame(level))?;
    Ok(vars
        .iter()
        .map(|(n, v)| render(n.clone(), v, max_len, handles))
        .collect())
}

/// At most this many entries of one table are listed.
const MAX_ENTRIES: usize = 1000;

pub(crate) fn expand(
    handle: Handle,
    max_len: Option<usize>,
    handles: &mut Handles,
) -> Result<Vec<Variable>, DebugError> {
    let Some(Value::Table(t)) = handles.get(handle).cloned() else {
        return Err(DebugError::UnknownHandle(handle));
    };
    // Raw traversal (no __pairs, no __index): looking must not run strategy code.
    let mut entries: Vec<(Value, Value)> = t.pairs::<Value, Value>().flatten().collect();
    entries.sort_by_key(|(k, _)| key_order(k));
    let total = entries.len();
    let mut out: Vec<Variable> = entries
        .into_iter()
        .take(MAX_ENTRIES)
        .map(|(k, v)| render(key_name(&k), &v, max_len, handles))
        .collect();
    if total > MAX_ENTRIES {
        out.push(Variable {
            name: "…".into(),
            kind: String::new(),
            value: format!("{} more entries", total - MAX_ENTRIES),
            handle: None,
        });
    }
    Ok(out)
}

fn key_order(k: &Value) -> (u8, i64, String) {
    match k {
        Value::Integer(i) => (0, *i, String::new()),
        Value::String(s) => (1, 0, s.to_string_lossy()),
        other => (2, 0, format!("{other:?}")),
    }
}

fn key_name(k: &Value) -> String {
    match k {
        Value::Integer(i) => format!("[{i}]"),
        Value::String(s) => {
            let s = s.to_string_lossy();
            let ident = s
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_alphanumeric() || c == '_');
            if ident {
                s
            } else {
                format!("[{s:?}]")
            }
        }
        other => format!("[{}]", render_plain(other, None)),
    }
}

fn fmt_number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}

fn render_plain(v: &Value, max_len: Option<usize>) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => fmt_number(*n),
        Value::String(s) => {
            let text = s.to_string_lossy();
            match max_len {
                Some(max) if text.chars().count() > max => {
                    let cut: String = text.chars().take(max).collect();
                    format!("{cut:?}… ({} bytes)", s.as_bytes().len())
                }
                _ => format!("{text:?}"),
            }
        }
        Value::Table(t) => {
            let n = t.pairs::<Value, Value>().count();
            format!("table ({n} {})", if n == 1 { "entry" } else { "entries" })
        }
        Value::Function(f) => {
            let info = f.info();
            match (info.source, info.line_defined) {
                (Some(src), Some(line)) if info.what != "C" => format!(
                    "function <{}:{line}>",
                    src.strip_prefix('@').unwrap_or(&src)
                ),
                _ => "function [C]".into(),
            }
        }
        Value::Thread(t) => format!("coroutine ({:?})", t.status()).to_lowercase(),
        Value::LightUserData(u) if u.0.is_null() => "null".into(),
        Value::Error(e) => format!("error: {}", errors::message_of(e)),
        other => other.type_name().to_string(),
    }
}

fn render(name: String, v: &Value, max_len: Option<usize>, handles: &mut Handles) -> Variable {
    let kind = match v {
        Value::LightUserData(u) if u.0.is_null() => "null",
        other => other.type_name(),
    };
    Variable {
        name,
        kind: kind.to_string(),
        value: render_plain(v, max_len),
        handle: matches!(v, Value::Table(_)).then(|| handles.keep(v)),
    }
}

/// An environment that reads the frame's locals, then its upvalues, then its `_ENV`
/// (the globals), and refuses every write.
fn frame_env(lua: &Lua, level: u32) -> Result<Table, DebugError> {
    let locals = locals(lua, level).ok_or(DebugError::NoFrame(level))?;
    let upvalues = upvalues(lua, level).unwrap_or_default();
    let eval_err = |e: mlua::Error| DebugError::Eval(errors::message_of(&e));
    let names = lua.create_table().map_err(eval_err)?;
    let values = lua.create_table().map_err(eval_err)?;
    let mut fallback = Value::Table(lua.globals());
    // Upvalues first, so locals (set after) shadow them, later locals shadow earlier.
    for (n, v) in upvalues.into_iter().chain(locals) {
        if n == "_ENV" {
            fallback = v.clone();
        }
        names.raw_set(n.as_str(), true).map_err(eval_err)?;
        values.raw_set(n.as_str(), v).map_err(eval_err)?;
    }
    let env = lua.create_table().map_err(eval_err)?;
    let meta = lua.create_table().map_err(eval_err)?;
    let index = lua
        .create_function(move |_, (_, k): (Value, Value)| {
            if names.raw_get::<bool>(k.clone()).unwrap_or(false) {
                return values.raw_get::<Value>(k);
            }
            match &fallback {
                Value::Table(t) => t.get::<Value>(k),
                _ => Ok(Value::Nil),
            }
        })
        .map_err(eval_err)?;
    let newindex = lua
        .create_function(|_, (_, k, _): (Value, Value, Value)| -> mlua::Result<()> {
            let name = match &k {
                Value::String(s) => s.to_string_lossy(),
                other => render_plain(other, Some(40)),
            };
            Err(mlua::Error::runtime(format!(
                "read-only: cannot assign '{name}' while stopped"
            )))
        })
        .map_err(eval_err)?;
    meta.raw_set("__index", index).map_err(eval_err)?;
    meta.raw_set("__newindex", newindex).map_err(eval_err)?;
    env.set_metatable(Some(meta)).map_err(eval_err)?;
    Ok(env)
}

/// Runs `return <expr>` in the frame's read-only environment; `alc.llm` refuses meanwhile.
fn run_expr(lua: &Lua, level: u32, expr: &str) -> Result<MultiValue, DebugError> {
    let env = frame_env(lua, level)?;
    let f = lua
        .load(format!("return {expr}"))
        .set_name("=expression")
        .set_environment(env)
        .into_function()
        .map_err(|e| DebugError::Eval(format!("syntax error: {}", errors::message_of(&e))))?;
    lua.set_app_data(Evaluating);
    let out = f.call::<MultiValue>(());
    lua.remove_app_data::<Evaluating>();
    out.map_err(|e| DebugError::Eval(errors::message_of(&e)))
}

pub(crate) fn evaluate(
    lua: &Lua,
    level: u32,
    expr: &str,
    max_len: Option<usize>,
    handles: &mut Handles,
) -> Result<Variable, DebugError> {
    let values = run_expr(lua, level, expr)?;
    let mut iter = values.iter();
    let first = iter.next().cloned().unwrap_or(Value::Nil);
    let mut var = render(expr.to_string(), &first, max_len, handles);
    for more in iter {
        var.value.push_str(", ");
        var.value.push_str(&render_plain(more, max_len));
    }
    Ok(var)
}

/// A breakpoint condition, in the stopped function's frame: truthy or not.
pub(crate) fn condition_holds(lua: &Lua, expr: &str) -> Result<bool, String> {
    match run_expr(lua, 0, expr) {
        Ok(v) => Ok(!matches!(
            v.iter().next(),
            None | Some(Value::Nil) | Some(Value::Boolean(false))
        )),
        Err(e) => Err(e.to_string()),
    }
}
