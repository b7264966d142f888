//! The students' starter bundle: both labs' exercise crates and the grader,
//! buildable outside this workspace, for classes that should not see the
//! solutions, and a ready GitHub Classroom template (its autograding
//! workflow is written from `grade/grading.toml`). `cargo xtask build`
//! writes it into `src/downloads/` (git-ignored) so the site serves it and
//! the instructors' page can link to it. The hidden tests in `instructor/`
//! are never part of it.
//!
//! Layout: `exercises/` (Lab 2), `grade/`, `lab1/` with its check command in
//! `lab1/check/`, and what that check compares against, the listing
//! `lab1-measure` and the pool it times, in `reference/`. One workspace holds
//! them all, so the commands are the book's.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const NAME: &str = "pt-exercises-starter";

const README: &str = "\
# Starter: Lab 1 (measure) and Lab 2 (build a thread pool)

Where you stand in both labs, every step passed or not, its points and the
page to read next (also written to `target/grade.json`):

    cargo run -p grade

Lab 2: edit `exercises/src/lib.rs` until every step passes:

    cargo run -p grade -- lab2     # every step: passed or not, points
    cargo test -p exercises        # every test, with its messages
    cargo test -p exercises step1  # one step at a time

Lab 1: edit `lab1/src/lib.rs` until every test passes, then compare your
figures with the reference's:

    cargo run -p grade -- lab1             # every step: passed or not, points
    cargo test -p lab1                     # every step, with its messages
    cargo test -p lab1 step2               # one step
    cargo run --release -p lab1-check      # your figures vs lab1-measure's

The book's Lab 1 and Lab 2 pages explain each step and give hints.
`reference/` holds the course's measuring program (`cargo run --release -p
lab1-measure`), which the check compares your figures against.

On GitHub Classroom, every push is graded by `.github/workflows/classroom.yml`,
one test per step, with the points in `grade/grading.toml`.
";

/// The bundle's own workspace: `cargo test` alone still grades the pool.
const WORKSPACE: &str = "\
[workspace]
resolver = \"2\"
members = [\"exercises\", \"grade\", \"lab1\", \"lab1/check\", \"reference/lab1-measure\", \"reference/pool-04-shutdown\"]
default-members = [\"exercises\"]
";

/// Lab 1's crates and the reference its check needs, as (folder in the
/// repository, folder in the bundle, parts copied).
const LAB1: [(&str, &str, &[&str]); 4] = [
    ("exercises/lab1", "lab1", &["src", "tests"]),
    ("exercises/lab1/check", "lab1/check", &["src"]),
    ("listings/lab1-measure", "reference/lab1-measure", &["src"]),
    ("listings/pool-04-shutdown", "reference/pool-04-shutdown", &["src"]),
];

/// Writes `src/downloads/pt-exercises-starter.tar.gz` and returns its path.
pub fn write(root: &Path) -> Result<PathBuf, String> {
    let stage = root.join("target/starter");
    let bundle = stage.join(NAME);
    let _ = std::fs::remove_dir_all(&stage);
    for (krate, parts) in [("exercises", &["src", "tests"][..]), ("grade", &["src", "grading.toml"][..])] {
        let to = bundle.join(krate);
        std::fs::create_dir_all(&to).map_err(|e| e.to_string())?;
        for part in parts {
            let from = root.join(krate).join(part);
            let copied = if from.is_dir() { copy_dir(&from, &to.join(part)) } else { std::fs::copy(&from, to.join(part)).map(|_| ()) };
            copied.map_err(|e| format!("copying {krate}/{part}: {e}"))?;
        }
        std::fs::write(to.join("Cargo.toml"), member_manifest(root, krate)?).map_err(|e| e.to_string())?;
    }
    for (from, to, parts) in LAB1 {
        for part in parts {
            copy_dir(&root.join(from).join(part), &bundle.join(to).join(part)).map_err(|e| format!("copying {from}/{part}: {e}"))?;
        }
        let manifest = member_manifest(root, from)?
            // The check's reference sits in reference/ here.
            .replace("path = \"../../../listings/lab1-measure\"", "path = \"../../reference/lab1-measure\"");
        // No benches or their dev-dependencies (criterion): the bundle
        // carries what the labs run.
        std::fs::write(bundle.join(to).join("Cargo.toml"), drop_sections(&manifest, &["[dev-dependencies]", "[[bench]]"])).map_err(|e| e.to_string())?;
    }
    // The workspace's versions, so the bundle builds what the course tested.
    std::fs::copy(root.join("Cargo.lock"), bundle.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    // The grader's table names the labs' folders as in the repository.
    let mut grading = std::fs::read_to_string(root.join("grade").join(grade::TABLE)).map_err(|e| e.to_string())?;
    for (from, to, _) in LAB1 {
        grading = grading.replace(&format!("dir = \"{from}\""), &format!("dir = \"{to}\""));
    }
    std::fs::write(bundle.join("grade").join(grade::TABLE), grading).map_err(|e| e.to_string())?;
    let table = grade::load_table(&root.join("grade"))?;
    std::fs::write(bundle.join("grade").join(grade::PAGES_FILE), step_headings(root, &table)?).map_err(|e| e.to_string())?;
    let workflows = bundle.join(".github/workflows");
    std::fs::create_dir_all(&workflows).map_err(|e| e.to_string())?;
    std::fs::write(workflows.join("classroom.yml"), grade::classroom_workflow(root, &table)?).map_err(|e| e.to_string())?;
    std::fs::write(bundle.join("Cargo.toml"), WORKSPACE).map_err(|e| e.to_string())?;
    std::fs::write(bundle.join(".gitignore"), "/target\n").map_err(|e| e.to_string())?;
    std::fs::write(bundle.join("README.md"), README).map_err(|e| e.to_string())?;

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

/// `path<TAB>heading` of every step page, so the grader in the bundle (which
/// has no book sources) can still name the page to read next.
fn step_headings(root: &Path, table: &grade::Table) -> Result<String, String> {
    let mut out = String::new();
    for lab in &table.labs {
        for step in grade::discover(root, lab)? {
            let page = grade::page(root, table, lab, step.n);
            let heading = page.heading.ok_or(format!("{}: no page with a `# ` heading for step {}", page.path, step.n))?;
            out += &format!("{}\t{heading}\n", page.path);
        }
    }
    Ok(out)
}

/// Unpacks the bundle into a fresh `dest` (removed first); returns its root.
pub fn unpack(root: &Path, dest: &Path) -> Result<PathBuf, String> {
    let archive = write(root)?;
    let _ = std::fs::remove_dir_all(dest);
    std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
    // `-m`: the files get the time of unpacking, not the archive's fixed
    // 2000-01-01; with that older time cargo took a reused target folder's
    // builds of an earlier bundle for fresh and graded stale code.
    let unpacked = Command::new("tar").arg("-mxzf").arg(&archive).arg("-C").arg(dest).status().is_ok_and(|s| s.success());
    unpacked.then(|| dest.join(NAME)).ok_or_else(|| "the starter bundle does not unpack".into())
}

pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() { copy_dir(&path, &target)? } else { std::fs::copy(&path, &target).map(|_| ())? }
    }
    Ok(())
}

/// `exercises/Cargo.toml` made to build outside the workspace (the scratch
/// copies `cargo xtask lab2` grades).
pub fn exercises_manifest(root: &Path) -> Result<String, String> {
    standalone_crate_manifest(root, "exercises")
}

/// `<dir>/Cargo.toml` made to build outside the workspace (the scratch
/// copies `cargo xtask lab1` grades).
pub fn standalone_crate_manifest(root: &Path, dir: &str) -> Result<String, String> {
    Ok(member_manifest(root, dir)? + "\n# Not part of the course's workspace: builds on its own.\n[workspace]\n")
}

/// The manifest without the given sections (a header line and the lines up
/// to the next header).
fn drop_sections(manifest: &str, headers: &[&str]) -> String {
    let mut dropping = false;
    let mut out = String::new();
    for line in manifest.lines() {
        if line.trim_start().starts_with('[') {
            dropping = headers.contains(&line.trim());
        }
        if !dropping {
            out += &format!("{line}\n");
        }
    }
    out
}

/// `<krate>/Cargo.toml` with the workspace's values inlined, for the bundle's
/// own workspace.
fn member_manifest(root: &Path, krate: &str) -> Result<String, String> {
    let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).map_err(|e| e.to_string())?;
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| e.to_string())?;
    inline_workspace_keys(&manifest, &workspace).map_err(|e| format!("{krate}/Cargo.toml: {e}"))
}

/// The crate's manifest with every `key.workspace = true` replaced by the
/// workspace's value.
fn inline_workspace_keys(manifest: &str, workspace: &str) -> Result<String, String> {
    let mut out = String::new();
    for line in manifest.lines() {
        match line.split_once(".workspace = true") {
            Some((key, rest)) => {
                let key = key.trim();
                let value = workspace_value(workspace, key).ok_or_else(|| format!("`{key}.workspace = true` has no value in the workspace"))?;
                // `foo = { workspace = true, features = [...] }` is not used here.
                out += &format!("{key} = {value}{rest}\n");
            }
            None => out += &format!("{line}\n"),
        }
    }
    Ok(out)
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
/// `cargo test` (Lab 2) and `cargo test -p lab1` there: each must build,
/// and fail on the unsolved steps with the suite's own messages; Lab 1's
/// check command must build too, and the grader must give every step of
/// both labs 0 points.
pub fn check(root: &Path) -> Result<(), String> {
    let bundle = unpack(root, &root.join("target/starter-check"))?;
    for must in ["exercises/src/lib.rs", "lab1/src/lib.rs", "grade/grading.toml", "grade/pages.tsv", ".github/workflows/classroom.yml"] {
        if !bundle.join(must).is_file() {
            return Err(format!("the starter bundle has no {must}"));
        }
    }
    for never in ["solutions", "instructor", "src/lab2"] {
        if bundle.join(never).exists() {
            return Err(format!("the starter bundle must not contain {never}/"));
        }
    }
    let out = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(&bundle)
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
    let cargo_in_bundle = |args: &[&str]| {
        Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&bundle)
            .env("CARGO_TARGET_DIR", root.join("target/starter-target"))
            .output()
            .map_err(|e| e.to_string())
    };
    let out = cargo_in_bundle(&["test", "-p", "lab1", "--quiet"])?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if text.contains("error[E") || text.contains("could not compile") {
        return Err(format!("Lab 1 in the starter bundle does not compile on its own:\n{text}"));
    }
    if out.status.success() || text.contains("... ok") {
        return Err(format!("the unsolved Lab 1 in the starter bundle passes tests: the graded suite proves nothing:\n{text}"));
    }
    for step in ["step1", "step2", "step3", "step4"] {
        if !text.contains(&format!("test {step}_")) {
            return Err(format!("Lab 1 in the starter bundle runs no {step} test:\n{text}"));
        }
    }
    if !text.contains("not implemented yet") {
        return Err(format!("Lab 1 in the starter bundle fails, but not with the suite's messages:\n{text}"));
    }
    let out = cargo_in_bundle(&["build", "-p", "lab1-check", "--quiet"])?;
    if !out.status.success() {
        return Err(format!("Lab 1's check command does not build in the starter bundle:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    // The grader, as a student runs it: every step of both labs, 0 points,
    // and the first page to read named without the book's sources.
    let out = cargo_in_bundle(&["run", "-q", "-p", "grade"])?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let table = grade::load_table(&root.join("grade"))?;
    let max: u32 = table.labs.iter().flat_map(|l| l.points.iter().map(|(_, p)| p)).sum();
    let mut wanted = vec![format!("total 0/{max} points"), format!("read: the course book's page {}/step1.html", table.labs[0].pages.trim_start_matches("src/"))];
    wanted.extend(table.labs.iter().map(|l| format!("{}   (cargo test -p {}", l.title, l.package)));
    if out.status.code() != Some(1) || wanted.iter().any(|w| !text.contains(w.as_str())) {
        return Err(format!("`cargo run -p grade` in the starter bundle should grade both labs at 0 points (exit 1) and name the page to read ({wanted:?}); it said:\n{text}"));
    }
    println!("starter bundle: {} unpacks, builds alone (both labs, Lab 1's check, the grader), fails step by step as shipped, and its grader gives 0/{max}", bundle.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn workspace_keys_are_inlined() {
        let workspace = "[workspace]\nmembers = []\n\n[workspace.package]\nedition = \"2021\"\n\n[workspace.dependencies]\nlibc = \"0.2\"\n";
        let manifest = "[package]\nname = \"exercises\"\nedition.workspace = true\n\n[dev-dependencies]\nlibc.workspace = true\n";
        let out = super::inline_workspace_keys(manifest, workspace).unwrap();
        assert!(out.contains("edition = \"2021\"\n"), "{out}");
        assert!(out.contains("libc = \"0.2\"\n"), "{out}");
        assert!(super::inline_workspace_keys("x.workspace = true\n", workspace).is_err());
    }

    #[test]
    fn sections_are_dropped_to_the_next_header() {
        let manifest = "[package]\nname = \"a\"\n\n[dev-dependencies]\ncriterion = \"0.5\"\n\n[[bench]]\nname = \"b\"\n\n[dependencies]\nlibc = \"0.2\"\n";
        let out = super::drop_sections(manifest, &["[dev-dependencies]", "[[bench]]"]);
        assert_eq!(out, "[package]\nname = \"a\"\n\n[dependencies]\nlibc = \"0.2\"\n");
    }
}
