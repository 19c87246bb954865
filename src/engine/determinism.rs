//! Whether this build's Lua iterates string keys in the same order in every process.
//!
//! `pairs()` order over string keys follows Lua's string hashes, which stock Lua 5.4
//! seeds per state from addresses and the clock (`luai_makeseed` in lstate.c). The
//! build fixes the seed (`.cargo/config.toml`, `[env]` HOST_CFLAGS/TARGET_CFLAGS);
//! a target directory whose vendored Lua was compiled before that keeps the random
//! seed, because cargo does not rebuild mlua-sys when those variables change. This
//! check finds such a build: with a random seed two states (different addresses)
//! iterate the same table differently. Touches nothing but two throwaway Lua states.

use std::sync::OnceLock;

/// What to tell the person when the seed is not fixed.
pub const UNFIXED_SEED: &str = "this build's Lua has a per-process string-hash seed \
     (its vendored Lua was compiled before .cargo/config.toml fixed it), so pairs() order \
     over string keys may differ from run to run; rebuild it: cargo clean -p mlua-sys && \
     cargo build";

fn key_order() -> Option<String> {
    let lua = mlua::Lua::new();
    lua.load(
        "local t = {}\nfor i = 1, 64 do t['k' .. i] = i end\nlocal o = {}\n\
         for k in pairs(t) do o[#o + 1] = k end\nreturn table.concat(o, ',')",
    )
    .eval::<String>()
    .ok()
}

/// True when `pairs()` order over string keys is the same in every Lua state (and so
/// in every process). Computed once per process.
pub fn string_hash_seed_is_fixed() -> bool {
    static FIXED: OnceLock<bool> = OnceLock::new();
    *FIXED.get_or_init(|| {
        let first = key_order();
        // A few tries: two states could share a seed by chance.
        first.is_some() && (0..3).all(|_| key_order() == first)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_string_hash_seed_is_fixed_in_this_build() {
        assert!(
            super::string_hash_seed_is_fixed(),
            "{}",
            super::UNFIXED_SEED
        );
    }
}
