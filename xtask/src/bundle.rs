//! The students' starter bundle: the `exercises` crate alone, buildable
//! outside this workspace, for classes that should not see the solutions.
//! `cargo xtask build` writes it into `src/downloads/` (git-ignored) so the
//! site serves it and the instructors' page can link to it.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const NAME: &str = "pt-exercises-starter";

const README: &str = "\
# Lab 2 starter: build a thread pool

Edit `src/lib.rs` until every test passes:

    cargo test            # every step
    cargo test step1      # one step at a time

The book's Lab 2 pages explain each step and give hints.
";

/// Writes `src/downloads/pt-exercises-starter.tar.gz` and returns its path.
pub fn write(root: &Path) -> Result<PathBuf, String> {
    let stage = root.join("target/starter");
    let crate_dir = stage.join(NAME);
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&crate_dir).map_err(|e| e.to_string())?;
    let exercises = root.join("exercises");
    for part in ["src", "tests"] {
        if exercises.join(part).exists() {
            copy_dir(&exercises.join(part), &crate_dir.join(part)).map_err(|e| format!("copying exercises/{part}: {e}"))?;
        }
    }
    std::fs::write(crate_dir.join("Cargo.toml"), exercises_manifest(root)?).map_err(|e| e.to_string())?;
    std::fs::write(crate_dir.join("README.md"), README).map_err(|e| e.to_string())?;

    let downloads = root.join("src/downloads");
    std::fs::create_dir_all(&downloads).map_err(|e| e.to_string())?;
    let archive = downloads.join(format!("{NAME}.tar.gz"));
    let ok = Command::new("tar")
        .args(["--sort=name", "--mtime=2000-01-01", "--owner=0", "--group=0", "-czf"])
        .arg(&archive)
        .arg("-C")
        .arg(&stage)
        .arg(NAME)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(archive).ok_or_else(|| "tar failed to write the starter bundle".into())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() { copy_dir(&path, &target)? } else { std::fs::copy(&path, &target).map(|_| ())? }
    }
    Ok(())
}

/// `exercises/Cargo.toml` made to build outside the workspace (the starter
/// bundle, and the scratch copies `cargo xtask lab2` grades).
pub fn exercises_manifest(root: &Path) -> Result<String, String> {
    let manifest = std::fs::read_to_string(root.join("exercises/Cargo.toml")).map_err(|e| e.to_string())?;
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| e.to_string())?;
    standalone_manifest(&manifest, &workspace)
}

/// The crate's manifest with every `key.workspace = true` replaced by the
/// workspace's value, plus an empty `[workspace]` so it stands alone.
fn standalone_manifest(manifest: &str, workspace: &str) -> Result<String, String> {
    let mut out = String::new();
    for line in manifest.lines() {
        match line.split_once(".workspace = true") {
            Some((key, rest)) => {
                let key = key.trim();
                let value = workspace_value(workspace, key).ok_or_else(|| format!("exercises/Cargo.toml: `{key}.workspace = true` has no value in the workspace"))?;
                // `foo = { workspace = true, features = [...] }` is not used here.
                out += &format!("{key} = {value}{rest}\n");
            }
            None => out += &format!("{line}\n"),
        }
    }
    Ok(out + "\n# Not part of the course's workspace: builds on its own.\n[workspace]\n")
}

/// `key = value` from `[workspace.package]` or `[workspace.dependencies]`.
fn workspace_value(workspace: &str, key: &str) -> Option<String> {
    let mut section = "";
    for line in workspace.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t;
        } else if matches!(section, "[workspace.package]" | "[workspace.dependencies]") {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// Unpacks the bundle into an empty folder, as a student would, and runs
/// `cargo test` there: it must build, and fail on the unsolved steps with
/// the suite's own messages.
pub fn check(root: &Path) -> Result<(), String> {
    let archive = write(root)?;
    let scratch = root.join("target/starter-check");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let unpacked = Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&scratch).status().is_ok_and(|s| s.success());
    if !unpacked {
        return Err("the starter bundle does not unpack".into());
    }
    let out = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(scratch.join(NAME))
        .env("CARGO_TARGET_DIR", root.join("target/starter-target"))
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if text.contains("error[E") || text.contains("could not compile") {
        return Err(format!("the starter bundle does not compile on its own:\n{text}"));
    }
    if out.status.success() {
        return Err("the unsolved starter bundle passes its tests: the graded suite proves nothing".into());
    }
    if !text.contains("step1") || !text.to_lowercase().contains("not implemented") {
        return Err(format!("the starter bundle fails, but not with the suite's step messages:\n{text}"));
    }
    println!("starter bundle: {} unpacks, builds alone, and fails step by step as shipped", archive.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn workspace_keys_are_inlined() {
        let workspace = "[workspace]\nmembers = []\n\n[workspace.package]\nedition = \"2021\"\n\n[workspace.dependencies]\nlibc = \"0.2\"\n";
        let manifest = "[package]\nname = \"exercises\"\nedition.workspace = true\n\n[dev-dependencies]\nlibc.workspace = true\n";
        let out = super::standalone_manifest(manifest, workspace).unwrap();
        assert!(out.contains("edition = \"2021\"\n"), "{out}");
        assert!(out.contains("libc = \"0.2\"\n"), "{out}");
        assert!(out.trim_end().ends_with("[workspace]"), "{out}");
        assert!(super::standalone_manifest("x.workspace = true\n", workspace).is_err());
    }
}
