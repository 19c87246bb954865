//! The breakpoints as the model knows them: the ones every run starts with (`--break`,
//! toggled with F9 on the Source cursor line), and, while a run goes on, the engine's
//! own list (bound, moved, pending) as last reported. The gutter draws from here. No
//! I/O: setting and clearing on a running session are `Effect::Debug` requests.

use crate::engine::{BreakpointInfo, BreakpointSpec, BreakpointState};

/// How a breakpoint shows in the gutter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyph {
    /// Bound to code: filled.
    Bound,
    /// Its file is not loaded (yet): hollow.
    Pending,
}

impl Glyph {
    pub fn symbol(self) -> &'static str {
        match self {
            Glyph::Bound => "●",
            Glyph::Pending => "○",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Breakpoints {
    /// What each run starts with.
    pub specs: Vec<BreakpointSpec>,
    /// The running session's list, as the engine last reported it.
    pub live: Option<Vec<BreakpointInfo>>,
}

/// Is `suffix` a path suffix of `path` on whole components (`s.lua` of `demo/s.lua`)?
pub fn suffix_of(suffix: &str, path: &str) -> bool {
    let clean = |s: &str| {
        s.trim_start_matches('@')
            .trim_start_matches("./")
            .to_string()
    };
    let (s, p) = (clean(suffix), clean(path));
    !s.is_empty() && (p == s || p.ends_with(&format!("/{s}")))
}

/// The file name a breakpoint on the Source pane's file takes: the path as shown, or
/// a package's entry file for a package name.
pub fn spec_file(shown: &str) -> String {
    let shown = shown.trim_start_matches("./");
    if shown.ends_with(".lua") {
        shown.to_string()
    } else {
        format!("{shown}/init.lua")
    }
}

impl Breakpoints {
    pub fn new(specs: Vec<BreakpointSpec>) -> Self {
        Breakpoints { specs, live: None }
    }

    /// The breakpoints to draw in `file` (as the Source pane shows it): line and glyph.
    pub fn in_file(&self, file: &str) -> Vec<(u32, Glyph)> {
        let here = |spec: &str| suffix_of(spec, file) || suffix_of(&spec_file(file), spec);
        match &self.live {
            Some(live) => live
                .iter()
                .filter_map(|b| match &b.state {
                    BreakpointState::Bound { file: f, line }
                        if suffix_of(file, f)
                            || suffix_of(f, file)
                            || suffix_of(&spec_file(file), f) =>
                    {
                        Some((*line, Glyph::Bound))
                    }
                    BreakpointState::Pending if here(&b.file) => Some((b.line, Glyph::Pending)),
                    _ => None,
                })
                .collect(),
            None => self
                .specs
                .iter()
                .filter(|s| here(&s.file))
                .map(|s| (s.line, Glyph::Pending))
                .collect(),
        }
    }

    /// F9 at `line` of `file`: removes the breakpoint drawn there, or adds one. Returns
    /// what changed for the running session: `Ok(spec)` set it, `Err(ids)` clear these.
    pub fn toggle(&mut self, file: &str, line: u32) -> Result<BreakpointSpec, Vec<u64>> {
        let name = spec_file(file);
        let here = |spec: &str| suffix_of(spec, file) || suffix_of(&name, spec);
        let live_ids: Vec<u64> = self
            .live
            .iter()
            .flatten()
            .filter(|b| {
                here(&b.file)
                    && match &b.state {
                        BreakpointState::Bound { line: l, .. } => *l == line || b.line == line,
                        _ => b.line == line,
                    }
            })
            .map(|b| b.id)
            .collect();
        let before = self.specs.len();
        let moved_from: Vec<u32> = self
            .live
            .iter()
            .flatten()
            .filter(|b| live_ids.contains(&b.id))
            .map(|b| b.line)
            .collect();
        self.specs
            .retain(|s| !(here(&s.file) && (s.line == line || moved_from.contains(&s.line))));
        if self.specs.len() != before || !live_ids.is_empty() {
            if let Some(live) = &mut self.live {
                live.retain(|b| !live_ids.contains(&b.id));
            }
            return Err(live_ids);
        }
        let spec = BreakpointSpec {
            file: name,
            line,
            condition: None,
        };
        self.specs.push(spec.clone());
        Ok(spec)
    }
}
