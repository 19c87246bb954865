//! The sandbox of ALC_API.md ("What a strategy may touch"), installed into every VM
//! of a session, fork children included.
//!
//! The rules that rewire standard Lua names live in `sandbox.lua`; this file holds the
//! parts that need Rust: the captured `io.stdout` / `io.stderr` (log events instead
//! of the terminal), `os.getenv` without secrets, `os.exit` as a session-ending
//! request, and `os.execute` (when allowed) with its output captured too.
//!
//! What is not fenced, on purpose: reading and writing files (`io.open`), `os.time`,
//! `os.clock`, `os.remove` — real packages use them.

use std::sync::{Arc, Mutex};

use mlua::{AnyUserData, Lua, MultiValue, UserData, UserDataMethods, Value};

use super::{call_site, errors, VmContext};
use crate::engine::core::{ExitRequest, SessionCore};
use crate::engine::event::{LogLevel, SessionEvent};

const SANDBOX_LUA: &str = include_str!("sandbox.lua");

/// Substrings (compared case-insensitively) that mark an environment variable as a
/// secret `os.getenv` will not reveal.
pub(crate) const SECRET_MARKERS: [&str; 5] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"];

/// A partial line is emitted anyway once it grows past this, so a strategy that
/// never writes a newline cannot grow the buffer without bound.
const MAX_PARTIAL_LINE: usize = 64 * 1024;

/// The refusal of a binary chunk, wherever one is loaded (`sandbox.lua` uses it too).
pub(crate) const BINARY_REFUSED: &str = "binary chunks are disabled in the sandbox (bytecode \
     is unverified and can crash the workbench); load Lua source text instead";

/// Loads Lua source in text mode; a binary chunk (it starts with ESC, as `\x1bLua`
/// does) is refused with a message naming `name`.
pub(crate) fn load_text<'a>(
    lua: &'a Lua,
    code: &'a [u8],
    name: &str,
) -> mlua::Result<mlua::Chunk<'a>> {
    if code.first() == Some(&0x1b) {
        return Err(mlua::Error::runtime(format!("{name}: {BINARY_REFUSED}")));
    }
    Ok(lua
        .load(code)
        .set_name(format!("@{name}"))
        .set_mode(mlua::ChunkMode::Text))
}

/// Whether `os.getenv(name)` must return nil.
pub(crate) fn is_secret_name(name: &str, configured: &[String]) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m)) || configured.iter().any(|c| c == name)
}

/// Text written to a captured stream, turned into one log event per line.
struct StreamBuffer {
    core: Arc<SessionCore>,
    level: LogLevel,
    partial: Vec<u8>,
}

impl StreamBuffer {
    fn emit(&self, bytes: &[u8]) {
        self.core.emit(SessionEvent::Log {
            level: self.level,
            msg: String::from_utf8_lossy(bytes).into_owned(),
        });
    }

    fn push(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            self.emit(&line[..line.len() - 1]);
        }
        if self.partial.len() > MAX_PARTIAL_LINE {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.emit(&rest);
        }
    }
}

/// `io.stdout` / `io.stderr` as a strategy sees them: a file-like object whose
/// writes become log events.
struct CapturedStream {
    name: &'static str,
    buffer: Arc<Mutex<StreamBuffer>>,
}

impl CapturedStream {
    fn buffer(&self) -> std::sync::MutexGuard<'_, StreamBuffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl UserData for CapturedStream {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // Like file:write: strings and numbers, returns the file for chaining.
        methods.add_function("write", |lua, (ud, args): (AnyUserData, MultiValue)| {
            let this = ud.borrow::<CapturedStream>()?;
            let mut bytes = Vec::new();
            for (i, v) in args.into_iter().enumerate() {
                match &v {
                    Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                        if let Some(s) = lua.coerce_string(v)? {
                            bytes.extend_from_slice(&s.as_bytes());
                        }
                    }
                    other => {
                        return Err(mlua::Error::runtime(format!(
                            "bad argument #{} to 'write' (string expected, got {})",
                            i + 1,
                            other.type_name()
                        )))
                    }
                }
            }
            this.buffer().push(&bytes);
            drop(this);
            Ok(ud)
        });
        methods.add_function("flush", |_, ud: AnyUserData| {
            ud.borrow::<CapturedStream>()?.buffer().flush();
            Ok(ud)
        });
        methods.add_method("close", |_, this, ()| {
            this.buffer().flush();
            Ok((Value::Nil, "cannot close standard file"))
        });
        methods.add_method("setvbuf", |_, _, _: MultiValue| Ok(true));
        methods.add_method("seek", |_, _, _: MultiValue| {
            Ok((Value::Nil, "Illegal seek", 29))
        });
        for reader in ["read", "lines"] {
            methods.add_method(reader, |_, this, _: MultiValue| -> mlua::Result<()> {
                Err(mlua::Error::runtime(format!(
                    "io.{} is captured by the workbench (its writes become log events) \
                     and cannot be read",
                    this.name
                )))
            });
        }
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("file (captured {})", this.name))
        });
    }
}

/// Both captured streams of one VM, so the run can flush what is left at its end.
struct CapturedOutput(Vec<Arc<Mutex<StreamBuffer>>>);

/// Emits any partial line still buffered in the captured streams.
pub(crate) fn flush_output(lua: &Lua) {
    if let Some(out) = lua.app_data_ref::<CapturedOutput>() {
        for b in &out.0 {
            b.lock().unwrap_or_else(|e| e.into_inner()).flush();
        }
    }
}

/// Whether writing to `path` would reach the workbench's own stdin/stdout/stderr
/// (`/dev/stdout`, the file `run`'s stdout is redirected to, the pty the TUI draws
/// on) or the controlling terminal (`/dev/tty`). `/dev/null` is always fine.
#[cfg(unix)]
pub(crate) fn is_own_output(path: &str) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(target) = std::fs::metadata(path) else {
        return false;
    };
    let is_char = target.file_type().is_char_device();
    if is_char {
        if let Ok(null) = std::fs::metadata("/dev/null") {
            if null.rdev() == target.rdev() {
                return false;
            }
        }
        // The controlling terminal, whatever this process's fds are.
        if target.rdev() == libc::makedev(5, 0) {
            return true;
        }
    }
    (0..3).any(|fd| match std::fs::metadata(format!("/dev/fd/{fd}")) {
        Ok(own) => {
            (own.dev() == target.dev() && own.ino() == target.ino())
                || (is_char && own.file_type().is_char_device() && own.rdev() == target.rdev())
        }
        Err(_) => false,
    })
}

#[cfg(not(unix))]
pub(crate) fn is_own_output(_path: &str) -> bool {
    false
}

fn exit_code(v: &Value) -> mlua::Result<i64> {
    match v {
        Value::Nil | Value::Boolean(true) => Ok(0),
        Value::Boolean(false) => Ok(1),
        Value::Integer(n) => Ok(*n),
        Value::Number(f) if f.fract() == 0.0 && f.is_finite() => Ok(*f as i64),
        other => Err(mlua::Error::runtime(format!(
            "bad argument #1 to 'exit' (number or boolean expected, got {})",
            other.type_name()
        ))),
    }
}

/// `os.execute(cmd)` when `--allow-exec` is on: runs `sh -c cmd` with its output
/// captured into log events (so it cannot reach the workbench's stdout or terminal)
/// and returns what Lua's `os.execute` returns.
fn execute(lua: &Lua, core: &SessionCore, cmd: Option<mlua::String>) -> mlua::Result<MultiValue> {
    use mlua::IntoLuaMulti;
    let Some(cmd) = cmd else {
        return true.into_lua_multi(lua);
    };
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd.to_string_lossy())
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return (Value::Nil, format!("cannot run sh: {e}"), 127).into_lua_multi(lua),
    };
    for (bytes, level) in [(&out.stdout, LogLevel::Info), (&out.stderr, LogLevel::Warn)] {
        for line in String::from_utf8_lossy(bytes).lines() {
            core.emit(SessionEvent::Log {
                level,
                msg: line.to_string(),
            });
        }
    }
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&out.status) {
        return (Value::Nil, "signal", sig).into_lua_multi(lua);
    }
    let code = out.status.code().unwrap_or(-1);
    let ok = if code == 0 {
        Value::Boolean(true)
    } else {
        Value::Nil
    };
    (ok, "exit", code).into_lua_multi(lua)
}

/// Installs every sandbox rule into a freshly set-up VM.
pub(crate) fn install(lua: &Lua, vm: &Arc<VmContext>) -> mlua::Result<()> {
    let settings = &vm.core.settings;
    let opts = lua.create_table()?;
    opts.set("allow_exec", settings.allow_exec)?;
    let mut buffers = Vec::new();
    for (field, name, level) in [
        ("stdout", "stdout", LogLevel::Info),
        ("stderr", "stderr", LogLevel::Warn),
    ] {
        let buffer = Arc::new(Mutex::new(StreamBuffer {
            core: vm.core.clone(),
            level,
            partial: Vec::new(),
        }));
        buffers.push(buffer.clone());
        opts.set(field, lua.create_userdata(CapturedStream { name, buffer })?)?;
    }
    lua.set_app_data(CapturedOutput(buffers));

    let secrets = settings.secret_env.clone();
    opts.set(
        "getenv",
        lua.create_function(move |lua, name: mlua::String| {
            let name = name.to_str()?.to_string();
            if is_secret_name(&name, &secrets) {
                return Ok(None);
            }
            match std::env::var_os(&name) {
                #[cfg(unix)]
                Some(v) => Ok(Some(lua.create_string(
                    std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()),
                )?)),
                #[cfg(not(unix))]
                Some(v) => Ok(Some(lua.create_string(v.to_string_lossy().as_bytes())?)),
                None => Ok(None),
            }
        })?,
    )?;

    let exiting = vm.clone();
    opts.set(
        "request_exit",
        lua.create_function(move |lua, code: Value| {
            if lua.app_data_ref::<super::inspect::Evaluating>().is_some() {
                return Err(mlua::Error::runtime(super::inspect::EXIT_REFUSED));
            }
            let code = exit_code(&code)?;
            exiting.core.request_exit(ExitRequest {
                code,
                fork: exiting.fork.clone(),
                site: call_site(lua),
                reason: None,
            });
            Ok(())
        })?,
    )?;
    opts.set("cancel_sentinel", errors::CANCEL_SENTINEL)?;
    opts.set("binary_refused", BINARY_REFUSED)?;
    opts.set(
        "is_own_output",
        lua.create_function(|_, path: mlua::String| Ok(is_own_output(&path.to_string_lossy())))?,
    )?;
    if settings.allow_exec {
        let core = vm.core.clone();
        opts.set(
            "execute",
            lua.create_function(move |lua, cmd: Option<mlua::String>| execute(lua, &core, cmd))?,
        )?;
    }
    lua.load(SANDBOX_LUA)
        .set_name("=alc:sandbox")
        .set_mode(mlua::ChunkMode::Text)
        .call::<()>(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_match_markers_in_any_case_and_configured_names() {
        for name in [
            "OPENAI_API_KEY",
            "github_token",
            "AWS_SECRET_ACCESS_KEY",
            "DB_Password",
            "GOOGLE_APPLICATION_CREDENTIALS",
        ] {
            assert!(is_secret_name(name, &[]), "{name}");
        }
        for name in ["HOME", "PATH", "LANG", "ALC_HOME", "MY_LLM"] {
            assert!(!is_secret_name(name, &[]), "{name}");
        }
        assert!(is_secret_name("MY_LLM", &["MY_LLM".to_string()]));
    }
}
