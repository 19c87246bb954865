//! Unit tests of the keymap: chord parsing, normalisation, context resolution, overrides.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;

fn key(code: KeyCode, mods: KeyModifiers) -> KeyChord {
    KeyChord::from_event(&KeyEvent::new(code, mods)).unwrap()
}

#[test]
fn parses_and_prints_chords() {
    for text in [
        "q",
        "ctrl-s",
        "alt-enter",
        "f5",
        "shift-tab",
        "pageup",
        "?",
        "G",
        "space",
    ] {
        let chord = KeyChord::parse(text).unwrap();
        assert_eq!(chord.to_string(), text, "{text}");
    }
    assert_eq!(
        KeyChord::parse("Ctrl-S").unwrap(),
        key(KeyCode::Char('s'), KeyModifiers::CONTROL)
    );
    assert!(KeyChord::parse("ctrl-").is_err());
    assert!(KeyChord::parse("hyper-x").is_err());
    assert!(KeyChord::parse("f99").is_err());
    assert!(KeyChord::parse("").is_err());
}

#[test]
fn terminal_reports_match_config_names() {
    // Terminals report '?' and 'G' with SHIFT, shift-tab as BackTab+SHIFT.
    assert_eq!(
        key(KeyCode::Char('?'), KeyModifiers::SHIFT),
        KeyChord::parse("?").unwrap()
    );
    assert_eq!(
        key(KeyCode::Char('G'), KeyModifiers::SHIFT),
        KeyChord::parse("G").unwrap()
    );
    assert_eq!(
        key(KeyCode::BackTab, KeyModifiers::SHIFT),
        KeyChord::parse("shift-tab").unwrap()
    );
    let release = KeyEvent {
        kind: KeyEventKind::Release,
        ..KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)
    };
    assert_eq!(KeyChord::from_event(&release), None);
}

#[test]
fn resolves_by_context_order() {
    let map = Keymap::default();
    let q = KeyChord::parse("q").unwrap();
    assert_eq!(map.resolve(q, &[KeyContext::Global]), Some(Action::Quit));
    assert_eq!(
        map.resolve(q, &[KeyContext::Overlay, KeyContext::Scroll]),
        Some(Action::Close)
    );
    // In the editor a plain letter types; ctrl-c still quits.
    assert_eq!(
        map.resolve(q, &[KeyContext::Editor, KeyContext::Global]),
        None
    );
    let ctrl_c = KeyChord::parse("ctrl-c").unwrap();
    assert_eq!(
        map.resolve(ctrl_c, &[KeyContext::Editor, KeyContext::Global]),
        Some(Action::Quit)
    );
    let pgup = KeyChord::parse("pageup").unwrap();
    assert_eq!(
        map.resolve(pgup, &[KeyContext::Editor, KeyContext::Global]),
        Some(Action::PromptUp)
    );
    assert_eq!(
        map.resolve(pgup, &[KeyContext::Trace, KeyContext::Scroll]),
        Some(Action::PageUp)
    );
}

#[test]
fn overrides_replace_chords_of_an_action() {
    let mut keys = BTreeMap::new();
    keys.insert("quit".to_string(), vec!["x".to_string()]);
    keys.insert(
        "submit".to_string(),
        vec!["ctrl-d".to_string(), "f2".to_string()],
    );
    let map = Keymap::with_overrides(&keys).unwrap();
    let g = [KeyContext::Global];
    assert_eq!(map.resolve(KeyChord::parse("q").unwrap(), &g), None);
    assert_eq!(
        map.resolve(KeyChord::parse("x").unwrap(), &g),
        Some(Action::Quit)
    );
    let e = [KeyContext::Editor];
    assert_eq!(
        map.resolve(KeyChord::parse("f2").unwrap(), &e),
        Some(Action::Submit)
    );
    assert_eq!(map.resolve(KeyChord::parse("ctrl-s").unwrap(), &e), None);
    assert_eq!(map.hint(Action::Submit).as_deref(), Some("ctrl-d"));
}

#[test]
fn bad_overrides_are_errors() {
    let mut keys = BTreeMap::new();
    keys.insert("fly".to_string(), vec!["x".to_string()]);
    assert_eq!(
        Keymap::with_overrides(&keys),
        Err(KeymapError::UnknownAction("fly".into()))
    );
    let mut keys = BTreeMap::new();
    keys.insert("quit".to_string(), vec!["meta-x".to_string()]);
    assert!(matches!(
        Keymap::with_overrides(&keys),
        Err(KeymapError::BadChord { .. })
    ));
}

#[test]
fn help_lists_every_action_with_a_binding() {
    let rows = Keymap::default().help_rows();
    for action in Action::ALL {
        assert!(
            rows.iter().any(|(_, _, d)| *d == action.description()),
            "{action:?} missing from help"
        );
    }
    assert!(rows
        .iter()
        .any(|(_, keys, d)| keys == "ctrl-s alt-enter" && *d == Action::Submit.description()));
}

#[test]
fn mode_keys_resolve_in_their_contexts() {
    use KeyContext as K;
    let map = Keymap::default();
    let chord = |s: &str| KeyChord::parse(s).unwrap();
    let editing = [K::Editor, K::Pending, K::Global, K::Always];
    let pending = [K::Pending, K::Scroll, K::Global, K::Always];
    let elsewhere = [K::Scroll, K::Global, K::Always];
    // f5 forwards where a query is shown, and no longer runs anywhere; r runs.
    assert_eq!(map.resolve(chord("f5"), &editing), Some(Action::Forward));
    assert_eq!(map.resolve(chord("f5"), &pending), Some(Action::Forward));
    assert_eq!(map.resolve(chord("f5"), &elsewhere), None);
    assert_eq!(map.resolve(chord("r"), &elsewhere), Some(Action::Run));
    assert_eq!(map.resolve(chord("a"), &elsewhere), Some(Action::CycleMode));
    // Letters type in the editor: m and a are text there; alt-m is the site mode.
    assert_eq!(map.resolve(chord("m"), &editing), None);
    assert_eq!(map.resolve(chord("a"), &editing), None);
    assert_eq!(
        map.resolve(chord("alt-m"), &editing),
        Some(Action::SiteMode)
    );
    assert_eq!(map.resolve(chord("m"), &pending), Some(Action::SiteMode));
    assert_eq!(
        map.resolve(chord("ctrl-r"), &editing),
        Some(Action::RejectDraft)
    );
    assert_eq!(
        map.resolve(chord("ctrl-n"), &pending),
        Some(Action::NextQuery)
    );
    // Hints in the editor skip typing chords.
    assert_eq!(map.hint(Action::SiteMode).as_deref(), Some("m"));
    assert_eq!(
        map.hint_while(Action::SiteMode, true).as_deref(),
        Some("alt-m")
    );
    let rows = map.help_rows();
    assert!(rows
        .iter()
        .any(|(ctx, keys, _)| *ctx == "pending pane" && keys == "f5"));
    assert!(rows
        .iter()
        .any(|(_, keys, d)| keys == "r" && *d == Action::Run.description()));
}

#[test]
fn the_default_keymap_has_no_collisions() {
    assert_eq!(
        Keymap::with_overrides(&BTreeMap::new()),
        Ok(Keymap::default())
    );
}

#[test]
fn one_chord_for_two_actions_that_apply_together_is_an_error_naming_both() {
    let mut keys = BTreeMap::new();
    keys.insert("quit".to_string(), vec!["ctrl-s".to_string()]);
    let err = Keymap::with_overrides(&keys).expect_err("ctrl-s also submits");
    assert_eq!(
        err,
        KeymapError::Collision {
            chord: "ctrl-s".into(),
            first: "quit".into(),
            first_context: "anywhere",
            second: "submit".into(),
            second_context: "answer editor",
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("\"ctrl-s\"") && message.contains("quit") && message.contains("submit"),
        "{message}"
    );
    // A chord already used by another action in a pane that is active together.
    let mut keys = BTreeMap::new();
    keys.insert("cancel".to_string(), vec!["j".to_string()]);
    let err = Keymap::with_overrides(&keys).expect_err("j scrolls down");
    assert!(
        matches!(&err, KeymapError::Collision { first, second, .. }
            if first == "cancel" && second == "scroll_down"),
        "{err}"
    );
}

#[test]
fn the_same_chord_in_contexts_never_active_together_is_fine() {
    // `q` closes overlays and quits elsewhere; `esc` closes the picker and denies a
    // question: never both at once.
    let mut keys = BTreeMap::new();
    keys.insert("quit".to_string(), vec!["q".to_string()]);
    keys.insert("deny".to_string(), vec!["esc".to_string(), "n".to_string()]);
    assert!(Keymap::with_overrides(&keys).is_ok());
    // Moving submit to a key nothing else uses while editing.
    let mut keys = BTreeMap::new();
    keys.insert("submit".to_string(), vec!["f2".to_string()]);
    assert!(Keymap::with_overrides(&keys).is_ok());
}

#[test]
fn an_action_bound_to_nothing_is_an_error() {
    for chords in [
        vec![String::new()],
        vec![],
        vec!["x".to_string(), " ".to_string()],
    ] {
        let mut keys = BTreeMap::new();
        keys.insert("quit".to_string(), chords.clone());
        let err = Keymap::with_overrides(&keys).expect_err("nothing to press");
        assert_eq!(
            err,
            KeymapError::Unbound {
                action: "quit".into(),
                example: "q".into()
            },
            "{chords:?}"
        );
        assert!(
            err.to_string()
                .starts_with("[keys] quit is bound to nothing"),
            "{err}"
        );
    }
}

#[test]
fn every_context_with_bindings_is_checked_in_a_stack() {
    // A context in no stack would never resolve, and its chords never be checked.
    for b in Keymap::default().bindings() {
        assert!(
            ContextStack::ALL
                .iter()
                .any(|s| s.contexts().contains(&b.context)),
            "{:?} ({:?}) is in no context stack",
            b.context,
            b.action
        );
    }
}

#[test]
fn source_and_trace_keys_are_checked_against_the_keys_active_with_them() {
    let cases = [
        // Source pane: its keys and the global ones apply together.
        ("toggle_wrap", "r", "run"),
        ("scroll_left", "j", "scroll_down"),
        // Trace: search keys and the scroll keys.
        ("next_match", "k", "scroll_up"),
    ];
    for (action, chord, other) in cases {
        let mut keys = BTreeMap::new();
        keys.insert(action.to_string(), vec![chord.to_string()]);
        let err = Keymap::with_overrides(&keys).expect_err(action);
        assert!(
            matches!(&err, KeymapError::Collision { first, second, .. }
                if [first, second].contains(&&action.to_string())
                    && [first, second].contains(&&other.to_string())),
            "{action}: {err}"
        );
    }
    // Never active together: `w` wraps in the Source pane and writes elsewhere in the
    // transcript question.
    let map = Keymap::default();
    let w = KeyChord::parse("w").unwrap();
    assert_eq!(
        map.resolve(w, ContextStack::Source.contexts()),
        Some(Action::ToggleWrap)
    );
    assert_eq!(
        map.resolve(w, ContextStack::Unrecorded.contexts()),
        Some(Action::RecordElsewhere)
    );
    // The too-small notice and the search box: only their own keys (and suspend).
    let q = KeyChord::parse("q").unwrap();
    assert_eq!(
        map.resolve(q, ContextStack::Notice.contexts()),
        Some(Action::Quit)
    );
    let r = KeyChord::parse("r").unwrap();
    assert_eq!(map.resolve(r, ContextStack::Notice.contexts()), None);
    assert_eq!(map.resolve(r, ContextStack::Search.contexts()), None);
}
