//! Arrays the engine hands to Lua (`alc.chunk`, `alc.llm_batch`, `alc.fork`,
//! `alc.state.keys`) carry mlua's array metatable, as arrays decoded from JSON do, so
//! `alc.json_encode` writes them as JSON arrays even when empty (`[]`, not `{}`).
//! Touches nothing but the table it builds.

use mlua::{IntoLua, Lua, LuaSerdeExt, Table};

/// A Lua sequence of `items`, marked as an array for JSON.
pub(crate) fn array_from<T: IntoLua>(
    lua: &Lua,
    items: impl IntoIterator<Item = T>,
) -> mlua::Result<Table> {
    let t = lua.create_sequence_from(items)?;
    t.set_metatable(Some(lua.array_metatable()))?;
    Ok(t)
}
