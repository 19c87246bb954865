//! (temporary stand-in; replaced by the textops module)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkMode { Lines, Chars }
pub fn match_enum(_t: &str, _c: &[String], _th: f64) -> Option<String> { None }
pub fn match_bool(_t: &str) -> Option<bool> { None }
pub fn chunk(_t: &str, _m: ChunkMode, _s: usize, _o: usize) -> Vec<String> { vec![] }
pub fn estimate_tokens(t: &str) -> u64 { t.len().div_ceil(4) as u64 }
