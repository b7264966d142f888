//! The pinned book tools: found on PATH or in our own tool folder, installed
//! there (never over a version the user already has) when missing.

use std::path::PathBuf;
use std::process::Command;

/// (binary, crate, version): the versions the book is checked with.
pub const PINNED: &[(&str, &str, &str)] = &[
    ("mdbook", "mdbook", "0.5.4"),
    ("mdbook-katex", "mdbook-katex", "0.10.0"),
    ("mdbook-quiz", "mdbook-quiz", "0.5.0"),
    ("mdbook-linkcheck2", "mdbook-linkcheck2", "0.13.0"),
];

/// Where we install: `$PT_TOOLS_ROOT`, else `~/.local/share/pt-course-tools`
/// (outside the clone, so a fresh clone or CI run reuses it).
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PT_TOOLS_ROOT") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME is not set; set PT_TOOLS_ROOT instead");
    PathBuf::from(home).join(".local/share/pt-course-tools")
}

fn reports_version(program: &std::path::Path, version: &str) -> bool {
    let Ok(out) = Command::new(program).arg("--version").output() else { return false };
    let text = String::from_utf8_lossy(&out.stdout);
    // "mdbook v0.5.4", "mdbook-katex 0.10.0": the version as a whole word.
    text.split(|c: char| c.is_whitespace()).any(|w| w.trim_start_matches('v') == version)
}

/// Makes sure every pinned tool is available, and returns the PATH that puts
/// the pinned ones first.
pub fn ensure() -> Result<std::ffi::OsString, String> {
    let bin = root().join("bin");
    let mut missing = Vec::new();
    for &(binary, krate, version) in PINNED {
        if reports_version(&bin.join(binary), version) || reports_version(std::path::Path::new(binary), version) {
            continue;
        }
        missing.push((binary, krate, version));
    }
    for (binary, krate, version) in missing {
        eprintln!("xtask: installing {krate} {version} into {} (a few minutes, once)", root().display());
        // `cargo` through rustup's proxy, not the toolchain's own binary: the
        // proxy pins the toolchain for the whole build, and a dependency of
        // mdbook-quiz ships a rust-toolchain file asking for Rust 1.43.
        let status = Command::new("cargo")
            .args(["install", "--locked", "--quiet", "--root"])
            .arg(root())
            .arg(format!("{krate}@{version}"))
            .status()
            .map_err(|e| format!("cannot run cargo install: {e}"))?;
        if !status.success() || !reports_version(&bin.join(binary), version) {
            return Err(format!("installing {krate} {version} failed (cargo install --locked {krate}@{version})"));
        }
    }
    path_with(&bin)
}

pub fn path_with(bin: &std::path::Path) -> Result<std::ffi::OsString, String> {
    let mut dirs = vec![bin.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).map_err(|e| e.to_string())
}
