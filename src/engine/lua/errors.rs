//! Turning Lua failures into [`ScriptError`]s that name `file:line`.
//!
//! mlua hands back errors in a few shapes (syntax errors, runtime errors with the
//! traceback appended, callback errors wrapping a cause). We peel them to one message,
//! keep the traceback, and find the strategy's line: the `file:line:` prefix of the
//! message when it points at user code, else the first traceback frame that does.
//! Frames of our own chunks (`alc:core`, `alc:prelude`) and of C are skipped, because
//! the author wants to see *their* line.

use crate::engine::event::{ScriptError, Site};

/// Chunk names of our own Lua start with this (as `=alc:core` → `alc:core:12:`).
pub(crate) const INTERNAL_PREFIX: &str = "alc:";

pub(crate) const CANCEL_SENTINEL: &str = "__alc_cancelled__";

/// The innermost message of an mlua error, without mlua's "runtime error: " decoration.
pub(crate) fn message_of(err: &mlua::Error) -> String {
    match err {
        mlua::Error::RuntimeError(s) => s.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::CallbackError { cause, .. } => message_of(cause),
        mlua::Error::WithContext { context, cause } => format!("{context}: {}", message_of(cause)),
        mlua::Error::MemoryError(_) => "Lua memory limit exceeded".to_string(),
        other => other.to_string(),
    }
}

fn traceback_of(err: &mlua::Error) -> Option<String> {
    match err {
        mlua::Error::CallbackError { traceback, .. } => Some(traceback.clone()),
        mlua::Error::WithContext { cause, .. } => traceback_of(cause),
        _ => None,
    }
}

/// `path:12: rest` → (`path`, 12). Also accepts a leading tab and `path:12:` alone.
pub(crate) fn parse_location(s: &str) -> Option<Site> {
    let s = s.trim_start();
    // Find ":<digits>:" scanning from the left, so paths containing ':' still work
    // as long as the line number is the first all-digit field.
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(pos) = s[i..].find(':') {
        let colon = i + pos;
        let rest = &s[colon + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && bytes.get(colon + 1 + digits) == Some(&b':') {
            let file = &s[..colon];
            let line = rest[..digits].parse().ok()?;
            return Some(Site {
                file: file.to_string(),
                line,
            });
        }
        i = colon + 1;
    }
    None
}

pub(crate) fn is_user_file(file: &str) -> bool {
    !(file.starts_with(INTERNAL_PREFIX) || file.starts_with("[C]") || file.starts_with("[string"))
}

/// Builds the strategy error for a failed chunk.
pub(crate) fn script_error(err: &mlua::Error, memory_limit: usize) -> ScriptError {
    let raw = match err {
        mlua::Error::MemoryError(_) => format!(
            "Lua memory limit of {} MiB exceeded (the strategy allocated too much; raise it with --memory-mb)",
            memory_limit / (1024 * 1024)
        ),
        _ => message_of(err),
    };
    let (message, mut traceback) = match raw.split_once("\nstack traceback:") {
        Some((m, t)) => (m.to_string(), Some(format!("stack traceback:{t}"))),
        None => (raw, None),
    };
    if traceback.is_none() {
        traceback = traceback_of(err);
    }
    let site = parse_location(&message)
        .filter(|s| is_user_file(&s.file))
        .or_else(|| {
            traceback.as_deref().and_then(|t| {
                t.lines()
                    .skip(1)
                    .filter_map(parse_location)
                    .find(|s| is_user_file(&s.file))
            })
        });
    ScriptError {
        message,
        site,
        traceback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_prefix_is_parsed() {
        let s = parse_location("demo/cot.lua:13: boom").unwrap();
        assert_eq!((s.file.as_str(), s.line), ("demo/cot.lua", 13));
        let s = parse_location("\tC:/x/y.lua:7: in main chunk").unwrap();
        assert_eq!((s.file.as_str(), s.line), ("C:/x/y.lua", 7));
        assert!(parse_location("no location here").is_none());
    }

    #[test]
    fn site_falls_back_to_first_user_frame() {
        let err = mlua::Error::RuntimeError(
            "budget_exceeded: llm_calls 1/1\nstack traceback:\n\t[C]: in function 'error'\n\talc:core:5: in function 'alc.llm'\n\tdemo/b.lua:9: in main chunk".into(),
        );
        let e = script_error(&err, 1 << 20);
        assert_eq!(e.message, "budget_exceeded: llm_calls 1/1");
        assert_eq!(e.site.unwrap().line, 9);
        assert!(e.traceback.unwrap().starts_with("stack traceback:"));
    }
}
