//! The keymap as data: a table of (context, action, key chords) with built-in defaults
//! and user overrides from config `[keys]`. Resolving a key is a lookup; the help
//! overlay and the status-bar hints are generated from this table. No I/O.

use std::collections::BTreeMap;

use super::action::Action;
pub use super::chord::{BadChord, KeyChord};

/// Where a binding applies. The model decides which contexts are active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyContext {
    Global,
    /// The answer editor (Pending focused with a query waiting for the person).
    Editor,
    /// The Pending pane focused, editing or not (forward, site mode, reject, batch).
    Pending,
    /// Any scrollable pane or overlay.
    Scroll,
    Trace,
    /// The Source pane focused (sideways scrolling, wrap).
    Source,
    /// The trace search box.
    Search,
    /// Help, event detail and result overlays.
    Overlay,
    Picker,
    CtxEditor,
    Confirm,
    /// The "terminal too small" notice: the panes are hidden, so only its own keys act.
    Notice,
    /// The transcript could not record an answer: the person's choices.
    Unrecorded,
    /// Typing the path to record the transcript to instead.
    PathPrompt,
    /// The diff overlay (this run against its parent).
    Diff,
    /// The Stack pane shown and focused (in the Trace's place).
    Stack,
    /// The debugger's expression box.
    Expression,
    /// Active under every overlay too (suspend).
    Always,
}

impl KeyContext {
    pub fn label(self) -> &'static str {
        match self {
            KeyContext::Global => "anywhere",
            KeyContext::Editor => "answer editor",
            KeyContext::Pending => "pending pane",
            KeyContext::Scroll => "panes and overlays",
            KeyContext::Trace => "trace",
            KeyContext::Source => "source",
            KeyContext::Search => "trace search",
            KeyContext::Overlay => "overlays",
            KeyContext::Picker => "picker",
            KeyContext::CtxEditor => "ctx editor",
            KeyContext::Confirm => "questions",
            KeyContext::Notice => "terminal too small",
            KeyContext::Unrecorded => "answer not recorded",
            KeyContext::PathPrompt => "transcript path",
            KeyContext::Diff => "diff",
            KeyContext::Stack => "stack",
            KeyContext::Expression => "expression",
            KeyContext::Always => "always",
        }
    }
}

/// The sets of contexts that are active together, most specific first. The model is
/// always in exactly one (see `Model::key_contexts`), so within one a chord may do
/// only one thing; across them the same chord may mean different things (`q` closes
/// an overlay, quits elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextStack {
    /// Help, event detail and result overlays.
    Overlay,
    Picker,
    CtxEditor,
    Confirm,
    /// The "answer not recorded" choices.
    Unrecorded,
    /// The prompt for another transcript path.
    PathPrompt,
    /// The trace search box.
    Search,
    /// The diff overlay.
    Diff,
    /// The "terminal too small" notice (its quit question is `Confirm`).
    Notice,
    /// The answer editor has the keys.
    Editing,
    /// The Pending pane is focused, not editing.
    Pending,
    Trace,
    /// The Stack pane is shown in the Trace's place and focused.
    Stack,
    /// The debugger's expression box.
    Expression,
    /// The Source pane is focused.
    Source,
    /// Any other pane.
    Panes,
}

impl ContextStack {
    pub const ALL: [ContextStack; 16] = [
        ContextStack::Overlay,
        ContextStack::Picker,
        ContextStack::CtxEditor,
        ContextStack::Confirm,
        ContextStack::Unrecorded,
        ContextStack::PathPrompt,
        ContextStack::Search,
        ContextStack::Diff,
        ContextStack::Notice,
        ContextStack::Editing,
        ContextStack::Pending,
        ContextStack::Trace,
        ContextStack::Stack,
        ContextStack::Expression,
        ContextStack::Source,
        ContextStack::Panes,
    ];

    /// Its contexts in resolution order, `Always` last.
    pub fn contexts(self) -> &'static [KeyContext] {
        use KeyContext as K;
        match self {
            ContextStack::Overlay => &[K::Overlay, K::Scroll, K::Always],
            ContextStack::Picker => &[K::Picker, K::Always],
            ContextStack::CtxEditor => &[K::CtxEditor, K::Always],
            ContextStack::Confirm => &[K::Confirm, K::Always],
            ContextStack::Unrecorded => &[K::Unrecorded, K::Always],
            ContextStack::PathPrompt => &[K::PathPrompt, K::Always],
            ContextStack::Search => &[K::Search, K::Always],
            ContextStack::Diff => &[K::Diff, K::Scroll, K::Always],
            ContextStack::Notice => &[K::Notice, K::Always],
            ContextStack::Editing => &[K::Editor, K::Pending, K::Global, K::Always],
            ContextStack::Pending => &[K::Pending, K::Scroll, K::Global, K::Always],
            ContextStack::Trace => &[K::Trace, K::Scroll, K::Global, K::Always],
            ContextStack::Stack => &[K::Stack, K::Scroll, K::Global, K::Always],
            ContextStack::Expression => &[K::Expression, K::Always],
            ContextStack::Source => &[K::Source, K::Scroll, K::Global, K::Always],
            ContextStack::Panes => &[K::Scroll, K::Global, K::Always],
        }
    }
}

/// Built-in bindings: (context, action, chords).
const DEFAULTS: &[(KeyContext, Action, &[&str])] = &[
    (KeyContext::Global, Action::Help, &["?", "f1"]),
    (KeyContext::Global, Action::Quit, &["q", "ctrl-c"]),
    (KeyContext::Global, Action::Run, &["r"]),
    (KeyContext::Global, Action::ReplayEdited, &["R"]),
    (KeyContext::Global, Action::Diff, &["D"]),
    (KeyContext::Global, Action::CycleMode, &["a"]),
    (KeyContext::Global, Action::Cancel, &["c"]),
    (KeyContext::Global, Action::EditCtx, &["e"]),
    (KeyContext::Global, Action::Open, &["o"]),
    (KeyContext::Global, Action::ShowResult, &["v"]),
    (KeyContext::Global, Action::FocusNext, &["tab"]),
    (KeyContext::Global, Action::FocusPrev, &["shift-tab"]),
    (KeyContext::Always, Action::Suspend, &["ctrl-z"]),
    (KeyContext::Editor, Action::Submit, &["ctrl-s", "alt-enter"]),
    (KeyContext::Editor, Action::SendToAll, &["alt-a"]),
    (KeyContext::Pending, Action::Forward, &["f5"]),
    (KeyContext::Pending, Action::RejectDraft, &["ctrl-r"]),
    (KeyContext::Editor, Action::EditLarge, &["ctrl-e"]),
    (KeyContext::Pending, Action::SiteMode, &["m", "alt-m"]),
    (KeyContext::Pending, Action::NextQuery, &["ctrl-n"]),
    (KeyContext::Pending, Action::PrevQuery, &["ctrl-p"]),
    (KeyContext::Editor, Action::PromptUp, &["pageup"]),
    (KeyContext::Editor, Action::PromptDown, &["pagedown"]),
    (KeyContext::Scroll, Action::ScrollUp, &["up", "k"]),
    (KeyContext::Scroll, Action::ScrollDown, &["down", "j"]),
    (KeyContext::Scroll, Action::PageUp, &["pageup"]),
    (KeyContext::Scroll, Action::PageDown, &["pagedown"]),
    (KeyContext::Scroll, Action::Top, &["home", "g"]),
    (KeyContext::Scroll, Action::Bottom, &["end", "G"]),
    (KeyContext::Source, Action::ScrollLeft, &["left", "h"]),
    (KeyContext::Source, Action::ScrollRight, &["right", "l"]),
    (KeyContext::Source, Action::ToggleWrap, &["w"]),
    (KeyContext::Trace, Action::TraceFilter, &["f"]),
    (KeyContext::Trace, Action::TraceSearch, &["/"]),
    (KeyContext::Trace, Action::NextMatch, &["n"]),
    (KeyContext::Trace, Action::PrevMatch, &["N"]),
    (KeyContext::Search, Action::Select, &["enter"]),
    (KeyContext::Search, Action::Close, &["esc"]),
    (KeyContext::Trace, Action::OpenEvent, &["enter"]),
    (KeyContext::Trace, Action::WhatIf, &["w"]),
    (KeyContext::Diff, Action::Select, &["enter"]),
    (KeyContext::Diff, Action::DiffView, &["t"]),
    (KeyContext::Diff, Action::Close, &["esc", "q"]),
    (KeyContext::Overlay, Action::Close, &["esc", "q"]),
    (KeyContext::Picker, Action::ScrollUp, &["up"]),
    (KeyContext::Picker, Action::ScrollDown, &["down"]),
    (KeyContext::Picker, Action::PageUp, &["pageup"]),
    (KeyContext::Picker, Action::PageDown, &["pagedown"]),
    (KeyContext::Picker, Action::Top, &["home"]),
    (KeyContext::Picker, Action::Bottom, &["end"]),
    (KeyContext::Picker, Action::Select, &["enter"]),
    (KeyContext::Picker, Action::Close, &["esc"]),
    (
        KeyContext::CtxEditor,
        Action::ApplyCtx,
        &["ctrl-s", "alt-enter"],
    ),
    (KeyContext::CtxEditor, Action::Close, &["esc"]),
    (KeyContext::Confirm, Action::Confirm, &["y", "enter"]),
    (KeyContext::Confirm, Action::Deny, &["n", "esc"]),
    (KeyContext::Notice, Action::Quit, &["q", "ctrl-c"]),
    (KeyContext::Unrecorded, Action::RetryAnswer, &["r"]),
    (KeyContext::Unrecorded, Action::RecordElsewhere, &["w"]),
    (KeyContext::Unrecorded, Action::GoUnrecorded, &["u"]),
    (KeyContext::Unrecorded, Action::Quit, &["q", "ctrl-c"]),
    (KeyContext::PathPrompt, Action::Select, &["enter"]),
    (KeyContext::PathPrompt, Action::Close, &["esc"]),
    (KeyContext::Global, Action::Continue, &["f8"]),
    (KeyContext::Global, Action::StepOver, &["f10"]),
    (KeyContext::Global, Action::StepInto, &["f11"]),
    (KeyContext::Global, Action::StepOut, &["shift-f11"]),
    (KeyContext::Global, Action::ToggleBreakpoint, &["f9"]),
    (KeyContext::Global, Action::Evaluate, &["="]),
    (KeyContext::Global, Action::ToggleStack, &["s"]),
    (KeyContext::Stack, Action::Expand, &["enter"]),
    (KeyContext::Expression, Action::Select, &["enter"]),
    (KeyContext::Expression, Action::Close, &["esc"]),
];

/// One binding row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub context: KeyContext,
    pub action: Action,
    pub chords: Vec<KeyChord>,
}

/// A config `[keys]` problem: which action, what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("[keys] {0:?} is not an action (see the help overlay for names)")]
    UnknownAction(String),
    #[error("[keys] {action}: {source}")]
    BadChord { action: String, source: BadChord },
    /// `quit = ""` or `quit = []`: the action could never be used.
    #[error(
        "[keys] {action} is bound to nothing: give it a key (like \"{example}\"), or remove \
         the line to keep its default"
    )]
    Unbound { action: String, example: String },
    /// One chord for two actions where both apply (`quit = "ctrl-s"` while editing,
    /// where ctrl-s submits).
    #[error(
        "[keys] \"{chord}\" is bound to both {first} ({first_context}) and {second} \
         ({second_context}), which apply at the same time; give one of them another key"
    )]
    Collision {
        chord: String,
        first: String,
        first_context: &'static str,
        second: String,
        second_context: &'static str,
    },
}

/// The resolved table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = DEFAULTS
            .iter()
            .map(|(context, action, chords)| Binding {
                context: *context,
                action: *action,
                chords: chords
                    .iter()
                    .map(|c| KeyChord::parse(c).expect("built-in chords parse"))
                    .collect(),
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// Defaults with `[keys]` overrides applied: an override replaces every chord of
    /// that action, in each context the action is bound in.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, KeymapError> {
        let mut map = Keymap::default();
        for (name, chords) in overrides {
            let action =
                Action::from_name(name).ok_or_else(|| KeymapError::UnknownAction(name.clone()))?;
            if chords.is_empty() || chords.iter().any(|c| c.trim().is_empty()) {
                return Err(KeymapError::Unbound {
                    action: name.clone(),
                    example: map.hint(action).unwrap_or_else(|| "f2".into()),
                });
            }
            let parsed = chords
                .iter()
                .map(|c| KeyChord::parse(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| KeymapError::BadChord {
                    action: name.clone(),
                    source,
                })?;
            for binding in map.bindings.iter_mut().filter(|b| b.action == action) {
                binding.chords = parsed.clone();
            }
        }
        map.check_collisions()?;
        Ok(map)
    }

    /// Fails on a chord bound to two different actions in contexts that are active
    /// together (one [`ContextStack`]): one of the two could never be reached there.
    fn check_collisions(&self) -> Result<(), KeymapError> {
        for stack in ContextStack::ALL {
            let active: Vec<&Binding> = self
                .bindings
                .iter()
                .filter(|b| stack.contexts().contains(&b.context))
                .collect();
            for (i, first) in active.iter().enumerate() {
                for second in &active[i + 1..] {
                    if first.action == second.action {
                        continue;
                    }
                    if let Some(chord) = first.chords.iter().find(|c| second.chords.contains(c)) {
                        return Err(KeymapError::Collision {
                            chord: chord.to_string(),
                            first: first.action.name().to_string(),
                            first_context: first.context.label(),
                            second: second.action.name().to_string(),
                            second_context: second.context.label(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The action bound to `chord`, trying `contexts` in order. In the answer editor,
    /// typing keys bound outside the editor's own context are skipped so letters reach
    /// the editor (`m` types an m there; `alt-m` still sets the site mode).
    pub fn resolve(&self, chord: KeyChord, contexts: &[KeyContext]) -> Option<Action> {
        let editing = contexts.contains(&KeyContext::Editor);
        contexts.iter().find_map(|ctx| {
            if editing && *ctx != KeyContext::Editor && chord.is_typing() {
                return None;
            }
            self.bindings
                .iter()
                .find(|b| b.context == *ctx && b.chords.contains(&chord))
                .map(|b| b.action)
        })
    }

    /// The first chord bound to `action` (for hints), as text.
    pub fn hint(&self, action: Action) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.chords.first())
            .map(|c| c.to_string())
    }

    /// The first chord bound to `action` in `context`, as text.
    pub fn hint_in(&self, action: Action, context: KeyContext) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.action == action && b.context == context)
            .and_then(|b| b.chords.first())
            .map(|c| c.to_string())
    }

    /// Like `hint`, but in the answer editor a typing key would type, so the first
    /// chord that is not one.
    pub fn hint_while(&self, action: Action, editing: bool) -> Option<String> {
        if !editing {
            return self.hint(action);
        }
        self.bindings
            .iter()
            .filter(|b| b.action == action)
            .flat_map(|b| b.chords.iter())
            .find(|c| !c.is_typing())
            .map(|c| c.to_string())
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Help overlay rows: (context label, chords joined, description), grouped by
    /// context in a fixed order, actions in `Action::ALL` order within a context.
    pub fn help_rows(&self) -> Vec<(&'static str, String, &'static str)> {
        use KeyContext as K;
        let contexts = [
            K::Global,
            K::Editor,
            K::Pending,
            K::Scroll,
            K::Source,
            K::Trace,
            K::Stack,
            K::Search,
            K::Expression,
            K::Overlay,
            K::Picker,
            K::CtxEditor,
            K::Confirm,
            K::Notice,
            K::Unrecorded,
            K::PathPrompt,
            K::Diff,
            K::Always,
        ];
        let mut rows = Vec::new();
        for ctx in contexts {
            for action in Action::ALL {
                for b in self
                    .bindings
                    .iter()
                    .filter(|b| b.context == ctx && b.action == *action)
                {
                    let keys = b
                        .chords
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(" ");
                    rows.push((ctx.label(), keys, action.description()));
                }
            }
        }
        rows
    }
}

#[cfg(test)]
#[path = "keymap_tests.rs"]
mod tests;
