//! Which lines of a Lua file hold code: read from the compiled chunk's line info.
//!
//! A breakpoint on a blank line, a comment or an `end` would never be hit, so it moves
//! to the next line that has code. `debug.getinfo(f, "L")` only covers one function, not
//! the functions nested in it, so instead the whole file is compiled (not run) and its
//! bytecode dump (Lua 5.4 format, `string.dump`) walked: every function prototype, and
//! the line of every instruction. Pure data reading; no Lua internals are touched.

use mlua::Lua;

/// Sorted, deduplicated lines with code in `text`, or None if it does not compile
/// (then the breakpoint keeps its line as given).
pub(crate) fn active_lines(lua: &Lua, name: &str, text: &str) -> Option<Vec<u32>> {
    let f = lua
        .load(text)
        .set_name(format!("@{name}"))
        .into_function()
        .ok()?;
    let dump = f.dump(false);
    let mut lines = Vec::new();
    Reader {
        bytes: &dump,
        pos: 0,
    }
    .chunk(&mut lines)?;
    lines.sort_unstable();
    lines.dedup();
    Some(lines)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self.pos.checked_add(n)?;
        (self.pos <= self.bytes.len()).then_some(())
    }

    /// `dumpSize`: 7-bit groups, most significant first, the last one marked 0x80.
    fn size(&mut self) -> Option<usize> {
        let mut x: usize = 0;
        loop {
            let b = self.byte()?;
            x = x.checked_mul(128)? | (b & 0x7f) as usize;
            if b & 0x80 != 0 {
                return Some(x);
            }
        }
    }

    fn string(&mut self) -> Option<()> {
        match self.size()? {
            0 => Some(()),
            n => self.skip(n - 1),
        }
    }

    fn chunk(&mut self, lines: &mut Vec<u32>) -> Option<()> {
        // Header: "\x1bLua", version, format, LUAC_DATA (6), three sizes, LUAC_INT,
        // LUAC_NUM; then the main closure's upvalue count.
        if self.bytes.get(..4)? != b"\x1bLua" || self.bytes.get(4)? != &0x54 {
            return None;
        }
        let int_size = *self.bytes.get(13)? as usize;
        let num_size = *self.bytes.get(14)? as usize;
        self.skip(15 + int_size + num_size)?;
        self.byte()?;
        self.function(lines)
    }

    fn function(&mut self, lines: &mut Vec<u32>) -> Option<()> {
        self.string()?; // source
        let linedefined = self.size()? as i64;
        self.size()?; // lastlinedefined
        self.byte()?; // numparams
        let is_vararg = self.byte()? != 0;
        self.byte()?; // maxstacksize
        let ncode = self.size()?;
        self.skip(ncode.checked_mul(4)?)?;
        for _ in 0..self.size()? {
            match self.byte()? {
                0x03 | 0x13 => self.skip(8)?,  // integer, float
                0x04 | 0x14 => self.string()?, // short, long string
                _ => {}                        // nil, false, true
            }
        }
        let nup = self.size()?;
        self.skip(nup.checked_mul(3)?)?;
        for _ in 0..self.size()? {
            self.function(lines)?;
        }
        // Debug info: relative line deltas, with absolute anchors where marked -0x80.
        let nline = self.size()?;
        let deltas = self
            .bytes
            .get(self.pos..self.pos.checked_add(nline)?)?
            .to_vec();
        self.skip(nline)?;
        let mut anchors = Vec::new();
        for _ in 0..self.size()? {
            let pc = self.size()?;
            let line = self.size()?;
            anchors.push((pc, line as i64));
        }
        let mut line = linedefined;
        let mut anchor = anchors.iter();
        for (pc, d) in deltas.iter().enumerate() {
            let d = *d as i8;
            line = if d == -0x80 {
                anchor.find(|(p, _)| *p == pc)?.1
            } else {
                line + d as i64
            };
            // As Lua's own `activelines`: a vararg function's first instruction
            // (VARARGPREP) is not a line of its own.
            if !(is_vararg && pc == 0) && line > 0 {
                lines.push(line as u32);
            }
        }
        for _ in 0..self.size()? {
            self.string()?;
            self.size()?;
            self.size()?;
        }
        for _ in 0..self.size()? {
            self.string()?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_nested_functions_are_found_and_blank_ones_are_not() {
        let lua = Lua::new();
        let text = "local x = 1\n\n-- a comment\nlocal function f(a)\n  local s = 'k'\n\n  return a + 1\nend\nreturn f(x)\n";
        let lines = active_lines(&lua, "t.lua", text).unwrap();
        assert!(lines.contains(&1), "{lines:?}");
        assert!(!lines.contains(&2) && !lines.contains(&3), "{lines:?}");
        assert!(lines.contains(&5) && lines.contains(&7), "{lines:?}");
        assert!(!lines.contains(&6), "{lines:?}");
        assert!(lines.contains(&9), "{lines:?}");
    }

    #[test]
    fn far_apart_lines_use_absolute_anchors() {
        let lua = Lua::new();
        let mut text = String::from("local a = 1\n");
        text.push_str(&"\n".repeat(400));
        text.push_str("a = a + 1\nreturn a\n");
        let lines = active_lines(&lua, "t.lua", &text).unwrap();
        assert!(lines.contains(&402) && lines.contains(&403), "{lines:?}");
    }

    #[test]
    fn a_file_that_does_not_compile_has_no_line_facts() {
        assert_eq!(active_lines(&Lua::new(), "t.lua", "local = ="), None);
    }
}
