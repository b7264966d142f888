//! `cargo xtask lab2`: proves Lab 2's graded suite does its job.
//!
//! In scratch copies of the `exercises` crate (never the student's own
//! `exercises/src/lib.rs`), it runs the graded tests against
//!
//! 1. the shipped skeleton, which must fail every step, fast, with
//!    "not implemented yet" messages;
//! 2. the reference solution, every correct pool of another design in
//!    `xtask/lab2-designs/` (whole `lib.rs` files), and the optional step 7's
//!    fast pool (`solutions/fast/lib.rs`, with crossbeam), which must all pass
//!    every test;
//! 3. every broken pool in `xtask/lab2-mutants/` (edits of the reference
//!    solution or of a design, see `mutate`), each of which must be rejected
//!    within a time bound, by (at least) the step its header names
//!    (`# caught-by: stepN`).
//!
//! Each scratch crate lives in `target/lab2-scratch/<name>/` with its own
//! `[workspace]` table and the workspace's `Cargo.lock`, as package
//! `lab2-<name>`; they share one target directory (`target/lab2-target`,
//! so the dependencies are built once), and files are only rewritten
//! when their content changes, so a second run rebuilds nothing. The full
//! output of every run is kept next to the crate, in `<name>.log`.

use crate::scratch::{build, first_failure, manifest_for, header, mutate, prepare, run_suite, Outcome};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A broken pool's run may take this long (watchdogs included) before it is
/// killed and counted as a failure of the suite to reject it. The slowest
/// rejections wait for one watchdog (10 s) after the earlier steps passed.
const MUTANT_BOUND: Duration = Duration::from_secs(15);
/// The skeleton must fail this fast (every test hits a `todo!()` at once).
const SKELETON_BOUND: Duration = Duration::from_secs(60);
/// The solution's whole run, as a student would run it.
const SOLUTION_BOUND: Duration = Duration::from_secs(120);
/// Tests per test binary when running a broken pool: many of its tests wait
/// for a watchdog, and they may as well wait side by side.
const MUTANT_TEST_THREADS: &str = "--test-threads=64";

/// The candidate made from `solutions/fast/lib.rs` (step 7's fast pool).
const FAST_POOL: &str = "fast_pool";

const STEPS: [&str; 6] = ["step1", "step2", "step3", "step4", "step5", "step6"];

#[derive(Clone)]
enum Expect {
    FailsEveryStep,
    Passes,
    /// Rejected, with a failing test of this step among the failures.
    Rejected(String),
}

pub fn run(root: &Path) -> Result<(), String> {
    let scratch = root.join("target/lab2-scratch");
    let target = root.join("target/lab2-target");
    fs::create_dir_all(&scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let manifest = crate::bundle::exercises_manifest(root)?;

    let read = |path: PathBuf| fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    let solution = read(root.join("solutions/src/lib.rs"))?;
    let mut candidates = vec![
        ("skeleton".to_string(), read(root.join("exercises/src/lib.rs"))?, Expect::FailsEveryStep),
        ("solution".to_string(), solution.clone(), Expect::Passes),
        // Lab 2's optional step 7: the fast pool passes the same suite.
        (FAST_POOL.to_string(), read(root.join("solutions/fast/lib.rs"))?, Expect::Passes),
    ];
    let designs = files(&root.join("xtask/lab2-designs"), "rs")?;
    if designs.len() < 3 {
        return Err(format!("only {} correct designs in xtask/lab2-designs/; the suite must be shown to pass at least 3", designs.len()));
    }
    for path in designs {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        candidates.push((name, read(path)?, Expect::Passes));
    }
    let mutants = files(&root.join("xtask/lab2-mutants"), "mutant")?;
    if mutants.len() < 10 {
        return Err(format!("only {} broken pools in xtask/lab2-mutants/; the suite must be proven against at least 10", mutants.len()));
    }
    for path in mutants {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let spec = read(path.clone())?;
        let base = match base_of(&spec) {
            Some(base) => read(root.join(base))?,
            None => solution.clone(),
        };
        let (step, lib) = mutate(&base, &spec, &STEPS).map_err(|e| format!("{}: {e}", path.display()))?;
        candidates.push((name, lib, Expect::Rejected(step)));
    }

    let mut rows = Vec::new();
    let mut failures = 0;
    println!("lab2: {:<26} {:<8} {:<7} {:>6}  first failing test", "pool", "expected", "result", "time");
    for (name, lib, expect) in &candidates {
        let dir = scratch.join(name);
        let mut crate_manifest = manifest_for(&manifest, "exercises", "lab2", name)?;
        if name == FAST_POOL {
            // The fast pool uses crossbeam (the workspace's version, pinned by
            // the copied Cargo.lock); the exercise itself is std only.
            crate_manifest += "\n[dependencies]\ncrossbeam = \"0.8\"\n";
        }
        prepare(root, &dir, &crate_manifest, lib, &root.join("exercises/tests"))?;
        let verdict = match build(&dir, &target) {
            Err(e) => Err(format!("does not build: {e}")),
            Ok(()) => judge(&dir, &target, name, expect),
        };
        let (ok, time, first, note) = match verdict {
            Ok((outcome, note)) => (true, outcome.took, first_failure(&outcome), note),
            Err(e) => (false, Duration::ZERO, String::new(), e),
        };
        let expected = match expect {
            Expect::FailsEveryStep => "all fail".to_string(),
            Expect::Passes => "passes".to_string(),
            Expect::Rejected(step) => step.clone(),
        };
        println!(
            "lab2: {:<26} {:<8} {:<7} {:>5.1}s  {}{}",
            name,
            expected,
            if ok { "ok" } else { "FAILED" },
            time.as_secs_f64(),
            first,
            if note.is_empty() { String::new() } else { format!("  ({note})") }
        );
        if !ok {
            failures += 1;
        }
        rows.push(ok);
    }
    println!("lab2: {} passed, {} failed", rows.len() - failures, failures);
    if failures == 0 {
        Ok(())
    } else {
        Err(format!("{failures} lab 2 check(s) failed; logs in {}", scratch.display()))
    }
}

/// The files of `dir` whose name ends in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    found.sort();
    Ok(found)
}

/// The file a mutant edits, when it is not the reference solution: its
/// header's `# base: <path from the repository root>` line.
fn base_of(spec: &str) -> Option<String> {
    header(spec).find_map(|l| l.strip_prefix("base:").map(|s| s.trim().to_string()))
}

/// The `#` lines at the top of a mutant, without their `#`.
/// Runs the suite against one candidate and checks the outcome against what
/// is expected of it. Returns the outcome and a note for the table.
fn judge(dir: &Path, target: &Path, name: &str, expect: &Expect) -> Result<(Outcome, String), String> {
    let log = dir.with_extension("log");
    match expect {
        Expect::FailsEveryStep => {
            let out = run_suite(dir, target, &["--no-fail-fast"], &[], SKELETON_BOUND, &log)?;
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
            if !out.log.contains("not implemented yet") {
                return Err("the skeleton fails, but without the \"not implemented yet\" messages".into());
            }
            Ok((out, String::new()))
        }
        Expect::Passes => {
            let out = run_suite(dir, target, &[], &[], SOLUTION_BOUND, &log)?;
            if out.timed_out || !out.success || !out.failed.is_empty() {
                return Err(format!("{name}, a correct pool, fails {:?}; see {}", out.failed, log.display()));
            }
            if out.passed.is_empty() {
                return Err("no test ran".into());
            }
            Ok((out, String::new()))
        }
        Expect::Rejected(step) => {
            let out = run_suite(dir, target, &[], &[MUTANT_TEST_THREADS], MUTANT_BOUND, &log)?;
            if out.timed_out {
                return Err(format!("{name} was not rejected within {MUTANT_BOUND:?}: the suite hung"));
            }
            if out.success || out.failed.is_empty() {
                return Err(format!("{name} passes the graded suite: no test catches it; see {}", log.display()));
            }
            if out.failed.iter().any(|t| t.starts_with(step.as_str())) {
                return Ok((out, String::new()));
            }
            // An earlier step stopped the run (cargo stops at the first
            // failing test binary): prove the named step catches it too.
            let step_log = dir.with_extension(format!("{step}.log"));
            let again = run_suite(dir, target, &[], &[step.as_str(), MUTANT_TEST_THREADS], MUTANT_BOUND, &step_log)?;
            if again.timed_out {
                return Err(format!("{name}: `cargo test {step}` did not finish within {MUTANT_BOUND:?}"));
            }
            match again.failed.iter().next() {
                Some(t) => {
                    // The time column stays the rejection's; the proof's is in the note.
                    let note = format!("{step} catches it too, in {:.1}s: {t}", again.took.as_secs_f64());
                    Ok((out, note))
                }
                None => Err(format!("{name} is rejected, but not by {step}, the step its header names; see {}", step_log.display())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    const SOLUTION: &str = "// ANCHOR: step1\nfn a() { 1 }\n// ANCHOR_END: step1\nfn b() { 2 }\n";

    #[test]
    fn a_mutant_is_the_solution_with_its_edits() {
        let spec = "# caught-by: step3\n\n--- reference\nfn b() { 2 }\n+++ mutant\nfn b() { 3 } // MUTANT\n";
        let (step, lib) = super::mutate(SOLUTION, spec, &super::STEPS).unwrap();
        assert_eq!(step, "step3");
        assert_eq!(lib, "fn a() { 1 }\nfn b() { 3 } // MUTANT\n");
    }

    #[test]
    fn a_mutant_may_name_the_design_it_edits() {
        let spec = "# Broken pool\n# base: xtask/lab2-designs/d1.rs\n# caught-by: step2\n\n--- reference\nfn b() { 2 }\n+++ mutant\nfn b() { 4 }\n";
        assert_eq!(super::base_of(spec).as_deref(), Some("xtask/lab2-designs/d1.rs"));
        assert_eq!(super::base_of("# caught-by: step1\n--- reference\n# base: no\n"), None, "only the header counts");
    }

    #[test]
    fn an_edit_that_no_longer_matches_is_an_error() {
        let spec = "# caught-by: step1\n--- reference\nfn c() {}\n+++ mutant\n";
        assert!(super::mutate(SOLUTION, spec, &super::STEPS).unwrap_err().contains("occurs 0 times"));
        assert!(super::mutate(SOLUTION, "--- reference\nfn a() { 1 }\n+++ mutant\n", &super::STEPS).is_err(), "no caught-by line");
    }
}
