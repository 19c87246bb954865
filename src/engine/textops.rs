//! Pure text helpers behind Layer 0 primitives (match_enum, match_bool, chunk) and the
//! token estimate. No Lua here: the bindings in `lua/` convert and call these.
