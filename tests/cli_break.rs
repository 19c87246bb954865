//! `alc-workbench SCRIPT --break FILE:LINE`: a bad breakpoint is refused before any
//! terminal is touched, naming the flag, the value and the form expected.

use std::process::{Command, Stdio};

fn tui(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_alc-workbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "ALC_HOME",
            std::env::temp_dir().join("alc-workbench-test-home"),
        )
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

#[test]
fn bad_breakpoints_are_refused_with_the_form_expected() {
    for (value, why) in [
        ("demo/cot.lua", "no ':LINE'"),
        ("demo/cot.lua:0", "the line is not a number from 1 up"),
        ("demo/cot.lua:x", "the line is not a number from 1 up"),
        (":7", "no file"),
    ] {
        let o = tui(&["demo/cot.lua", "--break", value]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains(&format!("--break {value:?}: {why}")),
            "{stderr}"
        );
        assert!(
            stderr.contains("expected FILE:LINE, like s.lua:7"),
            "{stderr}"
        );
    }
}
