//! Embeds the bundled `packages/` into the binary, so `require("cot")` works from any
//! directory on a fresh machine. Generates `$OUT_DIR/bundled_packages.rs`: a slice of
//! (module name, relative path, source).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("packages");
    println!("cargo:rerun-if-changed=packages");
    let mut entries = Vec::new();
    collect(&root, &root, &mut entries);
    entries.sort();
    let mut out = String::from("&[\n");
    for (name, rel) in &entries {
        println!("cargo:rerun-if-changed=packages/{rel}");
        let abs = root.join(rel);
        writeln!(
            out,
            "    ({name:?}, {rel:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("bundled_packages.rs");
    std::fs::write(dest, out).unwrap();
}

/// Module names for `pkg/init.lua` (→ `pkg`) and `pkg/sub.lua` (→ `pkg.sub`).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "lua") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let module = rel.trim_end_matches(".lua");
            let module = module
                .strip_suffix("/init")
                .unwrap_or(module)
                .replace('/', ".");
            out.push((module, rel));
        }
    }
}
