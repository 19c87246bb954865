//! Lua ↔ JSON conversion with bounds, so no value a strategy builds can overflow a
//! stack or exhaust the process's memory on the way out of the VM.
//!
//! Every conversion of the engine goes through here: results, `alc.json_encode` /
//! `json_decode`, `alc.state`, `alc.stats`, fork contexts and results, log values.
//!
//! Why [`MAX_DEPTH`] is 100 and not 1,000: every JSON text the engine writes (state
//! files, transcripts, fork results) is read back by a default serde_json parser,
//! which stops at 127 levels. A deeper limit here would let a strategy write a state
//! file or a result that nothing can read again; 100 stays clear of that edge and of
//! any structure a real strategy builds.
//!
//! Why a size bound as well: tables are references, so a strategy can build a small
//! Lua value whose JSON is exponentially large (`t = {t, t}` repeated). The walk
//! counts every use of a shared table and refuses a value whose JSON would not fit
//! in the VM's Lua memory limit, before any Rust memory is spent on it.
//!
//! The walk reads tables raw (no `__index`, `__pairs` or `__len`), exactly as the
//! conversion itself does, so no metamethod runs inside it.

use std::collections::HashSet;

use mlua::{DeserializeOptions, Lua, LuaSerdeExt, SerializeOptions, Value};

/// The deepest nesting of tables (Lua → JSON) or arrays/objects (JSON → Lua).
pub(crate) const MAX_DEPTH: usize = 100;

/// Rough bytes a value other than a string costs in JSON and in a `serde_json::Value`.
const NODE_COST: usize = 16;

/// The VM's size bound for converted values, kept in the Lua state's app data.
pub(crate) struct ConvertLimit(pub usize);

pub(crate) fn too_deep() -> mlua::Error {
    mlua::Error::runtime(format!(
        "value nested deeper than {MAX_DEPTH} levels (the limit for values that cross \
         into JSON: results, alc.json_encode, alc.state, alc.stats, alc.fork)"
    ))
}

struct Walk {
    bytes: usize,
    max_bytes: usize,
    /// Tables on the current path: a cycle is left to mlua, which names it.
    path: HashSet<usize>,
}

impl Walk {
    fn visit(&mut self, v: &Value, depth: usize) -> mlua::Result<()> {
        self.bytes = self.bytes.saturating_add(match v {
            Value::String(s) => s.as_bytes().len() + 2,
            _ => NODE_COST,
        });
        if self.bytes > self.max_bytes {
            return Err(mlua::Error::runtime(format!(
                "value too large to convert to JSON (over {} MiB, the Lua memory limit; \
                 a table used in several places counts once per use)",
                self.max_bytes / (1024 * 1024)
            )));
        }
        let Value::Table(t) = v else { return Ok(()) };
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let key = t.to_pointer() as usize;
        if !self.path.insert(key) {
            return Ok(());
        }
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair?;
            if let Value::String(s) = &k {
                self.bytes = self.bytes.saturating_add(s.as_bytes().len());
            }
            self.visit(&v, depth + 1)?;
        }
        self.path.remove(&key);
        Ok(())
    }
}

/// A Lua value as JSON. A function, thread or userdata other than the null sentinel
/// is an error, never silently dropped (mlua's default, as algocline); so are values
/// too deep or too large. Tables carrying the array metatable (engine-made arrays,
/// decoded JSON arrays) are arrays even when empty (`[]`).
pub(crate) fn to_json(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    let max_bytes = lua
        .app_data_ref::<ConvertLimit>()
        .map(|l| l.0)
        .unwrap_or(usize::MAX);
    Walk {
        bytes: 0,
        max_bytes,
        path: HashSet::new(),
    }
    .visit(&v, 0)?;
    lua.from_value_with(
        v,
        DeserializeOptions::new()
            .deny_unsupported_types(true)
            .deny_recursive_tables(true),
    )
}

/// How deep a JSON value nests, counting up to `limit + 1` at most.
fn json_depth(v: &serde_json::Value, limit: usize) -> usize {
    let children: Box<dyn Iterator<Item = &serde_json::Value>> = match v {
        serde_json::Value::Array(a) => Box::new(a.iter()),
        serde_json::Value::Object(o) => Box::new(o.values()),
        _ => return 0,
    };
    if limit == 0 {
        return 1;
    }
    1 + children
        .map(|c| json_depth(c, limit - 1))
        .max()
        .unwrap_or(0)
}

/// A JSON value as Lua: arrays carry mlua's array metatable, and JSON null becomes
/// the null sentinel (so `{"a":null}` keeps its key), mlua's defaults, as algocline.
pub(crate) fn from_json(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    if json_depth(v, MAX_DEPTH) > MAX_DEPTH {
        return Err(too_deep());
    }
    lua.to_value_with(
        v,
        SerializeOptions::new()
            .serialize_none_to_null(true)
            .serialize_unit_to_null(true)
            .set_array_metatable(true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> serde_json::Value {
        let mut v = serde_json::json!(1);
        for _ in 0..depth {
            v = serde_json::Value::Array(vec![v]);
        }
        v
    }

    #[test]
    fn json_depth_counts_containers_and_stops_at_the_limit() {
        assert_eq!(json_depth(&serde_json::json!(1), 10), 0);
        assert_eq!(json_depth(&nested(3), 10), 3);
        assert_eq!(json_depth(&nested(50), 10), 11);
    }

    #[test]
    fn the_limit_is_what_serde_json_parses_back() {
        // serde_json parses back everything we let out.
        let text = nested(MAX_DEPTH).to_string();
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
        let lua_table_depth = nested(MAX_DEPTH + 1).to_string();
        assert!(serde_json::from_str::<serde_json::Value>(&lua_table_depth).is_ok());
        let lua = Lua::new();
        let v = from_json(&lua, &nested(MAX_DEPTH)).unwrap();
        assert_eq!(to_json(&lua, v).unwrap(), nested(MAX_DEPTH));
        let e = from_json(&lua, &nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(e.to_string().contains("nested deeper than 100"), "{e}");
    }

    #[test]
    fn the_bounded_path_keeps_null_arrays_and_the_strict_setting() {
        let lua = Lua::new();
        // JSON null is the null sentinel both ways, and keeps its key.
        let v = from_json(&lua, &serde_json::json!({"a": null, "list": [1, null]})).unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t.raw_get::<Value>("a").unwrap(), Value::NULL);
        assert_eq!(
            to_json(&lua, v).unwrap(),
            serde_json::json!({"a": null, "list": [1, null]})
        );
        // A decoded empty array stays an array; a plain empty table is an object.
        let empty = from_json(&lua, &serde_json::json!([])).unwrap();
        assert_eq!(to_json(&lua, empty).unwrap(), serde_json::json!([]));
        let plain = Value::Table(lua.create_table().unwrap());
        assert_eq!(to_json(&lua, plain).unwrap(), serde_json::json!({}));
        // A function, even deep inside a table, is an error, not a silent null.
        let nested_fn: Value = lua
            .load("return {a = 1, inner = {f = print}}")
            .eval()
            .unwrap();
        let e = to_json(&lua, nested_fn).unwrap_err();
        assert!(e.to_string().contains("function"), "{e}");
        // The depth bound still comes first for a deep value holding a function.
        let deep: Value = lua
            .load("local t = {f = print} for i = 1, 150 do t = {t} end return t")
            .eval()
            .unwrap();
        let e = to_json(&lua, deep).unwrap_err();
        assert!(e.to_string().contains("nested deeper than 100"), "{e}");
    }
}
