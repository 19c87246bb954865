//! Layer 2: where `require("name")` looks, in ALC_API.md's order, through mlua-pkg.
//!
//! Order (earlier wins): the script's own directory and the project's `packages/`
//! (next to the script, then the working directory's), each `ALC_PACKAGES_PATH` entry,
//! `$ALC_HOME/packages`, then the packages bundled into this binary.
//!
//! We use our own [`DirResolver`] instead of mlua-pkg's `FsResolver` because chunks must
//! be named `@path`: that is what makes Lua errors and call sites read `file:line`.

use std::path::{Path, PathBuf};

use mlua::{Lua, Value};
use mlua_pkg::{Registry, Resolver};

/// (module name, path under packages/, source) for every bundled Lua file.
pub const BUNDLED: &[(&str, &str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/bundled_packages.rs"));

/// Where a package's entry file was found.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSource {
    /// Chunk name as it appears in errors and call sites (a path, or `bundled/…`).
    pub display: String,
    /// The file on disk, when it is not bundled.
    pub path: Option<PathBuf>,
    pub text: String,
}

/// Package names accepted by `run NAME` and `alc.fork` (ALC_API: `[A-Za-z0-9_]+`).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The search directories for a session, in order (bundled packages come after).
pub fn search_dirs(script_dir: Option<&Path>, alc_home: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = script_dir {
        dirs.push(d.to_path_buf());
        dirs.push(d.join("packages"));
    }
    dirs.push(PathBuf::from("packages"));
    if let Some(p) = std::env::var_os("ALC_PACKAGES_PATH") {
        dirs.extend(std::env::split_paths(&p).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.push(alc_home.join("packages"));
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    dirs
}

fn candidates(dir: &Path, name: &str) -> [PathBuf; 2] {
    let rel = name.replace('.', "/");
    [
        dir.join(&rel).join("init.lua"),
        dir.join(format!("{rel}.lua")),
    ]
}

fn display_path(p: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    cwd.and_then(|c| p.strip_prefix(c).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
        .display()
        .to_string()
}

/// Finds a package the way `require` would.
pub fn find(name: &str, dirs: &[PathBuf]) -> Option<PackageSource> {
    for dir in dirs {
        for c in candidates(dir, name) {
            if c.is_file() {
                let text = std::fs::read_to_string(&c).ok()?;
                return Some(PackageSource {
                    display: display_path(&c),
                    path: Some(c),
                    text,
                });
            }
        }
    }
    BUNDLED
        .iter()
        .find(|(m, _, _)| *m == name)
        .map(|(_, rel, text)| PackageSource {
            display: format!("bundled/{rel}"),
            path: None,
            text: (*text).to_string(),
        })
}

/// Names of every package that `require` can resolve (for pickers and messages).
pub fn list(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = BUNDLED
        .iter()
        .filter(|(m, _, _)| !m.contains('.'))
        .map(|(m, _, _)| m.to_string())
        .collect();
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if e.path().join("init.lua").is_file() && is_valid_name(&name) {
                names.push(name);
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// A filesystem root whose chunks are named `@path`.
struct DirResolver {
    dir: PathBuf,
}

/// A name that could leave the search directory once turned into a path. The
/// sandbox's first searcher already refuses these with a message; this keeps the
/// resolver safe on its own too.
fn is_path_like(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('/')
        || name.starts_with('\\')
        || name.contains("..")
        || Path::new(name).is_absolute()
}

impl Resolver for DirResolver {
    fn resolve(&self, lua: &Lua, name: &str) -> Option<mlua::Result<Value>> {
        if is_path_like(name) {
            return None;
        }
        for c in candidates(&self.dir, name) {
            if c.is_file() {
                return Some(match std::fs::read(&c) {
                    Ok(code) => crate::engine::lua::load_text(lua, &code, &display_path(&c))
                        .and_then(|chunk| chunk.eval()),
                    Err(e) => Err(mlua::Error::runtime(format!(
                        "cannot read {}: {e}",
                        c.display()
                    ))),
                });
            }
        }
        None
    }
}

struct BundledResolver;

impl Resolver for BundledResolver {
    fn resolve(&self, lua: &Lua, name: &str) -> Option<mlua::Result<Value>> {
        let (_, rel, text) = BUNDLED.iter().find(|(m, _, _)| *m == name)?;
        Some(
            lua.load(*text)
                .set_name(format!("@bundled/{rel}"))
                .set_mode(mlua::ChunkMode::Text)
                .eval(),
        )
    }
}

/// Installs the resolver chain into a VM's `package.searchers`.
pub fn install(lua: &Lua, dirs: &[PathBuf]) -> mlua::Result<()> {
    let mut reg = Registry::new();
    for d in dirs {
        reg.add(DirResolver { dir: d.clone() });
    }
    reg.add(BundledResolver);
    reg.install(lua)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_restricted() {
        assert!(is_valid_name("cot_2"));
        assert!(!is_valid_name("../etc"));
        assert!(!is_valid_name("a.b"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn earlier_directories_win() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for (d, tag) in [(&a, "A"), (&b, "B")] {
            std::fs::create_dir_all(d.path().join("p")).unwrap();
            std::fs::write(d.path().join("p/init.lua"), format!("return '{tag}'")).unwrap();
        }
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(find("p", &dirs).unwrap().text, "return 'A'");
        let lua = Lua::new();
        install(&lua, &dirs).unwrap();
        let v: String = lua.load("return require('p')").eval().unwrap();
        assert_eq!(v, "A");
    }

    #[test]
    fn missing_package_is_none() {
        assert!(find("no_such_package_xyz", &[]).is_none());
    }
}
