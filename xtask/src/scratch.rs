//! Scratch crates that grade one candidate `lib.rs` against a lab's graded
//! tests: shared by `cargo xtask lab1` and `cargo xtask lab2`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub struct Outcome {
    pub passed: BTreeSet<String>,
    pub failed: BTreeSet<String>,
    pub success: bool,
    pub timed_out: bool,
    pub took: Duration,
    pub log: String,
}

pub fn first_failure(outcome: &Outcome) -> String {
    match outcome.failed.iter().next() {
        Some(first) => format!("{first} ({} of {} failed)", outcome.failed.len(), outcome.failed.len() + outcome.passed.len()),
        None => format!("none ({} passed)", outcome.passed.len()),
    }
}

/// `cargo test [cargo_args] -- [test_args]` in `dir`, killed with its
/// process group after `bound` (the grader's own bounded run).
pub fn run_suite(dir: &Path, target: &Path, cargo_args: &[&str], test_args: &[&str], bound: Duration, log: &Path) -> Result<Outcome, String> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo.arg("test").args(cargo_args).arg("--").args(test_args).current_dir(dir).env("CARGO_TARGET_DIR", target);
    let (success, timed_out, took, text) = grade::run_bounded(cargo, log, bound)?;
    let (mut passed, mut failed) = (BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, result)) = rest.split_once(" ... ") {
                match result.trim() {
                    "ok" => passed.insert(name.to_string()),
                    "FAILED" => failed.insert(name.to_string()),
                    _ => false,
                };
            }
        }
    }
    Ok(Outcome { passed, failed, success, timed_out, took, log: text })
}

/// Compiles the crate and its tests, so the time bounds measure the tests.
pub fn build(dir: &Path, target: &Path) -> Result<(), String> {
    let out = Command::new(env!("CARGO"))
        .args(["test", "--no-run", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.starts_with("error")).take(3).collect::<Vec<_>>().join("; ")),
    }
}

/// The scratch manifest for one candidate: the package `package` renamed
/// `<prefix>-<candidate>` (the library keeps the name `package`, which the
/// tests use). Cargo hashes a path package's id relative to its workspace
/// root, so without distinct names every scratch crate would get the same
/// artifact names in the shared target directory and overwrite the others'.
pub fn manifest_for(manifest: &str, package: &str, prefix: &str, candidate: &str) -> Result<String, String> {
    let name = format!("name = \"{package}\"\n");
    if !manifest.contains(&name) || !manifest.contains("[lib]\n") {
        return Err(format!("the manifest of `{package}`: expected `name = \"{package}\"` and a [lib] table"));
    }
    Ok(manifest
        .replacen(&name, &format!("name = \"{prefix}-{}\"\n", candidate.replace('_', "-")), 1)
        .replacen("[lib]\n", &format!("[lib]\n{name}"), 1))
}

/// The `# key: value` lines at the top of a `.mutant` file, `#` removed.
pub fn header(spec: &str) -> impl Iterator<Item = &str> {
    spec.lines().take_while(|l| l.starts_with('#') || l.is_empty()).map(|l| l.trim_start_matches('#').trim())
}

pub fn strip_anchors(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with("// ANCHOR")).map(|l| format!("{l}\n")).collect()
}

/// A broken candidate from its `.mutant` file: the step that must catch it
/// (the header's `# caught-by: stepN`, one of `steps`) and `solution` with
/// ANCHOR lines removed and each `--- reference` block replaced by the
/// `+++ mutant` block after it. Written as edits, a mutant cannot drift from
/// what it edits: a block that no longer matches exactly once is an error.
pub fn mutate(solution: &str, spec: &str, steps: &[&str]) -> Result<(String, String), String> {
    let step = header(spec)
        .find_map(|l| l.strip_prefix("caught-by:").map(|s| s.trim().to_string()))
        .filter(|s| steps.contains(&s.as_str()))
        .ok_or(format!("no `# caught-by: stepN` line ({} to {}) in its header", steps[0], steps[steps.len() - 1]))?;
    let mut lib = strip_anchors(solution);
    let body = spec.split_once("--- reference\n").ok_or("no `--- reference` block")?.1;
    for (n, edit) in body.split("--- reference\n").enumerate() {
        let (find, replace) = edit.split_once("+++ mutant\n").ok_or(format!("edit {}: no `+++ mutant` line", n + 1))?;
        match lib.matches(find).count() {
            1 => lib = lib.replacen(find, replace, 1),
            k => return Err(format!("edit {}: its reference block occurs {k} times in the file it edits (must be once: was that file changed?)", n + 1)),
        }
    }
    Ok((step, lib))
}

/// Makes `dir` a scratch crate: `manifest`, the workspace's `Cargo.lock`,
/// `lib_text` as its `src/lib.rs` and a mirror of `tests`.
pub fn prepare(root: &Path, dir: &Path, manifest: &str, lib_text: &str, tests: &Path) -> Result<(), String> {
    write_if_changed(&dir.join("Cargo.toml"), manifest.as_bytes())?;
    write_if_changed(&dir.join("Cargo.lock"), &fs::read(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?)?;
    write_if_changed(&dir.join("src/lib.rs"), lib_text.as_bytes())?;
    sync_dir(tests, &dir.join("tests"))
}

/// Mirrors `from` into `to`, touching only files whose content differs.
pub fn sync_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| e.to_string())?;
    let mut keep = BTreeSet::new();
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        keep.insert(name.clone());
        if path.is_dir() {
            sync_dir(&path, &to.join(&name))?;
        } else {
            write_if_changed(&to.join(&name), &fs::read(&path).map_err(|e| e.to_string())?)?;
        }
    }
    for entry in fs::read_dir(to).map_err(|e| e.to_string())?.flatten() {
        if !keep.contains(&entry.file_name()) {
            let path = entry.path();
            let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        }
    }
    Ok(())
}

pub fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), String> {
    if fs::read(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()))
}
