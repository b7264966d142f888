//! `cargo xtask lab1`: proves Lab 1's graded suite does its job.
//!
//! In scratch copies of the `lab1` crate (never the student's own
//! `exercises/lab1/src/lib.rs`), it runs the graded tests against
//!
//! 1. the shipped skeleton, which must fail every test of every step, fast,
//!    with "not implemented yet" messages;
//! 2. the reference solution (`solutions/lab1/src/lib.rs`), which must pass
//!    every test;
//! 3. every broken measurement in `xtask/lab1-mutants/` (edits of the
//!    reference, see `mutate`), each of which must be rejected, within a
//!    time bound, by a test of the step its header names
//!    (`# caught-by: stepN`).
//!
//! `cargo xtask lab1 --figures` then runs the check command
//! (`lab1-check`, in release mode) with the reference solution as the
//! student's code: its figures next to `lab1-measure`'s and perf's.
//!
//! As for Lab 2, each scratch crate lives in `target/lab1-scratch/<name>/`
//! as package `lab1-<name>` (library name `lab1`), they share one target
//! directory, files are only rewritten when their content changes, and
//! every run's output is kept in `<name>.log`.

use crate::scratch::{build, first_failure, manifest_for, mutate, prepare, run_suite, strip_anchors, sync_dir, write_if_changed, Outcome};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const MUTANT_BOUND: Duration = Duration::from_secs(120);
const SKELETON_BOUND: Duration = Duration::from_secs(60);
/// The graded suite on the reference, as a student would run it. The bar
/// is 30 s on the course machine; this bound only stops a hang.
const SOLUTION_BOUND: Duration = Duration::from_secs(120);
const STEPS: [&str; 4] = ["step1", "step2", "step3", "step4"];

enum Expect {
    FailsEveryTest,
    Passes,
    Rejected(String),
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let figures = args.iter().any(|a| a == "--figures");
    let scratch = root.join("target/lab1-scratch");
    let target = root.join("target/lab1-target");
    fs::create_dir_all(&scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let manifest = crate::bundle::standalone_crate_manifest(root, "exercises/lab1")?;
    let read = |path: PathBuf| fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    let solution = read(root.join("solutions/lab1/src/lib.rs"))?;
    let skeleton = read(root.join("exercises/lab1/src/lib.rs"))?;
    if given(&skeleton) != given(&strip_anchors(&solution)) || given(&skeleton).is_empty() {
        return Err("the given part (from `// Given:` to `// Step 1:`) of exercises/lab1/src/lib.rs and solutions/lab1/src/lib.rs differ: \
                    the solution must be proven on the instruments and workload the student gets"
            .into());
    }
    let mut candidates = vec![
        ("skeleton".to_string(), skeleton, Expect::FailsEveryTest),
        ("solution".to_string(), strip_anchors(&solution), Expect::Passes),
    ];
    let mut mutants: Vec<PathBuf> = fs::read_dir(root.join("xtask/lab1-mutants"))
        .map_err(|e| format!("xtask/lab1-mutants: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "mutant"))
        .collect();
    mutants.sort();
    if mutants.len() < 8 {
        return Err(format!("only {} broken measurements in xtask/lab1-mutants/; the suite must be proven against at least 8", mutants.len()));
    }
    for path in mutants {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (step, lib) = mutate(&solution, &read(path.clone())?, &STEPS).map_err(|e| format!("{}: {e}", path.display()))?;
        candidates.push((name, lib, Expect::Rejected(step)));
    }

    let mut failures = 0;
    println!("lab1: {:<30} {:<8} {:<7} {:>6}  first failing test", "measurement", "expected", "result", "time");
    for (name, lib, expect) in &candidates {
        let dir = scratch.join(name);
        prepare(root, &dir, &manifest_for(&manifest, "lab1", "lab1", name)?, lib, &root.join("exercises/lab1/tests"))?;
        let verdict = match build(&dir, &target) {
            Err(e) => Err(format!("does not build: {e}")),
            Ok(()) => judge(&dir, &target, name, expect),
        };
        let (ok, time, first, note) = match verdict {
            Ok(outcome) => (true, outcome.took, first_failure(&outcome), String::new()),
            Err(e) => (false, Duration::ZERO, String::new(), e),
        };
        let expected = match expect {
            Expect::FailsEveryTest => "all fail".to_string(),
            Expect::Passes => "passes".to_string(),
            Expect::Rejected(step) => step.clone(),
        };
        println!(
            "lab1: {:<30} {:<8} {:<7} {:>5.1}s  {}{}",
            name,
            expected,
            if ok { "ok" } else { "FAILED" },
            time.as_secs_f64(),
            first,
            if note.is_empty() { String::new() } else { format!("  ({note})") }
        );
        failures += usize::from(!ok);
    }
    println!("lab1: {} passed, {} failed", candidates.len() - failures, failures);
    if failures > 0 {
        return Err(format!("{failures} lab 1 check(s) failed; logs in {}", scratch.display()));
    }
    if figures {
        return check_figures(root, &scratch.join("solution"), &target);
    }
    Ok(())
}

fn judge(dir: &Path, target: &Path, name: &str, expect: &Expect) -> Result<Outcome, String> {
    let log = dir.with_extension("log");
    match expect {
        Expect::FailsEveryTest => {
            let out = run_suite(dir, target, &[], &[], SKELETON_BOUND, &log)?;
            if out.timed_out {
                return Err(format!("the skeleton's run took longer than {SKELETON_BOUND:?}; see {}", log.display()));
            }
            if !out.passed.is_empty() {
                return Err(format!("the unsolved skeleton passes {:?}: those tests prove nothing", out.passed));
            }
            for step in STEPS {
                if !out.failed.iter().any(|t| t.starts_with(step)) {
                    return Err(format!("no {step} test fails on the skeleton"));
                }
            }
            let todo = out.log.matches("not implemented yet").count();
            if todo < out.failed.len() {
                return Err(format!("{} tests fail on the skeleton, only {todo} with a \"not implemented yet\" message", out.failed.len()));
            }
            Ok(out)
        }
        Expect::Passes => {
            let out = run_suite(dir, target, &[], &[], SOLUTION_BOUND, &log)?;
            if out.timed_out || !out.success || !out.failed.is_empty() {
                return Err(format!("the reference solution fails {:?}; see {}", out.failed, log.display()));
            }
            if out.passed.is_empty() {
                return Err("no test ran".into());
            }
            Ok(out)
        }
        Expect::Rejected(step) => {
            let out = run_suite(dir, target, &[], &[], MUTANT_BOUND, &log)?;
            if out.timed_out {
                return Err(format!("{name} was not rejected within {MUTANT_BOUND:?}: the suite hung"));
            }
            if out.success || out.failed.is_empty() {
                return Err(format!("{name} passes the graded suite: no test catches it; see {}", log.display()));
            }
            // The runner runs every test, so the named step's verdict is
            // in this one run.
            match out.failed.iter().any(|t| t.starts_with(step.as_str())) {
                true => Ok(out),
                false => Err(format!("{name} is rejected by {:?}, but not by {step}, the step its header names; see {}", out.failed, log.display())),
            }
        }
    }
}

/// The part of the file every student gets as it is: the instruments and
/// the workload, between the `// Given:` and `// Step 1:` banners.
fn given(text: &str) -> &str {
    let start = text.find("// Given:").unwrap_or(text.len());
    let end = text[start..].find("// Step 1:").map_or(start, |e| start + e);
    &text[start..end]
}

/// The check command, built in release mode against the reference solution
/// (the scratch `solution` crate) in place of the student's crate.
fn check_figures(root: &Path, solution_dir: &Path, target: &Path) -> Result<(), String> {
    let dir = solution_dir.join("check");
    let manifest = crate::bundle::standalone_crate_manifest(root, "exercises/lab1/check")?;
    let measure = root.join("listings/lab1-measure");
    let manifest = manifest
        .replace("path = \"../../../listings/lab1-measure\"", &format!("path = {:?}", measure.display().to_string()))
        .replacen("[workspace]\n", "", 1)
        // The scratch crate's package is `lab1-solution`; its library is `lab1`.
        .replace("lab1 = { path = \"..\" }", "lab1 = { path = \"..\", package = \"lab1-solution\" }");
    // The check crate joins the scratch solution's workspace.
    let solution_manifest = fs::read_to_string(solution_dir.join("Cargo.toml")).map_err(|e| e.to_string())?;
    if !solution_manifest.contains("members = [\"check\"]") {
        write_if_changed(&solution_dir.join("Cargo.toml"), solution_manifest.replacen("[workspace]\n", "[workspace]\nmembers = [\"check\"]\n", 1).as_bytes())?;
    }
    write_if_changed(&dir.join("Cargo.toml"), manifest.as_bytes())?;
    sync_dir(&root.join("exercises/lab1/check/src"), &dir.join("src"))?;
    let package = "lab1-check";
    eprintln!("lab1: cargo run --release -p {package} (the reference solution as the student's code)");
    let status = Command::new(env!("CARGO"))
        .args(["run", "--release", "-p", package])
        .current_dir(solution_dir)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    status.success().then_some(()).ok_or_else(|| "the check command failed".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mutant_is_the_solution_with_its_edits() {
        let solution = "// ANCHOR: a\nfn a() { 1 }\n// ANCHOR_END: a\nfn b() { 2 }\n";
        let spec = "# caught-by: step3\n\n--- reference\nfn b() { 2 }\n+++ mutant\nfn b() { 3 } // MUTANT\n";
        let (step, lib) = super::mutate(solution, spec, &super::STEPS).unwrap();
        assert_eq!((step.as_str(), lib.as_str()), ("step3", "fn a() { 1 }\nfn b() { 3 } // MUTANT\n"));
        assert!(super::mutate(solution, "# caught-by: step5\n--- reference\nfn b() { 2 }\n+++ mutant\n", &super::STEPS).is_err(), "Lab 1 has 4 steps");
        assert!(super::mutate(solution, "# caught-by: step1\n--- reference\nfn c() {}\n+++ mutant\n", &super::STEPS).unwrap_err().contains("occurs 0 times"));
    }

    #[test]
    fn the_given_part_is_between_the_banners() {
        let file = "use x;\n// Given: tools\nstruct B;\n// ---\n// Step 1: go\nfn a() {}\n";
        assert_eq!(super::given(file), "// Given: tools\nstruct B;\n// ---\n");
        assert_eq!(super::given("no banners"), "");
    }
}
