//! Keeps the rooms apart: the engine and the answer sources never touch the terminal,
//! and the app model does no I/O. A grep, because a clippy `disallowed-types` list
//! would apply to the whole crate, where ui/ and runtime/ legitimately use ratatui.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn assert_room_avoids(room: &str, forbidden: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(room);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: the {room} room must not depend on it",
                f.display()
            );
        }
    }
}

#[test]
fn engine_and_answer_sources_have_no_terminal_dependency() {
    assert_room_avoids(
        "engine",
        &["ratatui::", "crossterm::", "use ratatui", "use crossterm"],
    );
    assert_room_avoids(
        "answer",
        &["ratatui::", "crossterm::", "use ratatui", "use crossterm"],
    );
    assert_room_avoids(
        "provider",
        &["ratatui::", "crossterm::", "use ratatui", "use crossterm"],
    );
}
