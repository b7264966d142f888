//! The labs' grader: finds each lab's graded steps (test binaries named
//! `stepN` or `stepN_*`), runs each step's tests under a watchdog, and
//! reports passed or not, points, and the page to read next, as a table
//! (`cargo run -p grade`) and as JSON (`target/grade.json`). The points come
//! from `grade/grading.toml`, and so does the GitHub Classroom workflow
//! ([`classroom_workflow`]), one Classroom test per step.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The table file, beside this crate's manifest.
pub const TABLE: &str = "grading.toml";
/// Step headings for a copy without the book's sources (the starter
/// bundle): `path<TAB>heading` lines, written by `cargo xtask bundle`.
pub const PAGES_FILE: &str = "pages.tsv";

/// `grade/grading.toml`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub step_timeout: Duration,
    pub book_url: String,
    pub labs: Vec<Lab>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lab {
    pub id: String,
    pub title: String,
    pub package: String,
    pub dir: String,
    pub pages: String,
    /// (N, points) for each `stepN = points` row, in file order.
    pub points: Vec<(u32, u32)>,
    pub hidden: Option<u32>,
    /// One test binary holding every step (`test = "graded"`): step N is
    /// its tests whose names start with `stepN_`. None: one or more test
    /// binaries per step, named `stepN` or `stepN_*`.
    pub test: Option<String>,
}

/// The grader's own folder and the root of the workspace it grades (the
/// repository, or the unpacked starter bundle).
pub fn grader_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn workspace_root() -> PathBuf {
    grader_dir().parent().expect("grade/ has a parent folder").to_path_buf()
}

pub fn load_table(grader_dir: &Path) -> Result<Table, String> {
    let path = grader_dir.join(TABLE);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_table(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The subset of TOML the table uses: comments, `key = "string"`,
/// `key = integer`, and `[[lab]]` headers. Anything else is an error, so a
/// typo is reported rather than silently ignored.
pub fn parse_table(text: &str) -> Result<Table, String> {
    let mut table = Table { step_timeout: Duration::from_secs(180), book_url: String::new(), labs: Vec::new() };
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = strip_comment(raw).trim().to_string();
        if line.is_empty() {
            continue;
        }
        if line == "[[lab]]" {
            table.labs.push(Lab::default());
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(format!("line {line_no}: expected `key = value` or `[[lab]]`, found `{line}`"))?;
        let (key, value) = (key.trim(), value.trim());
        let string = || -> Result<String, String> {
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.contains('"') && !v.contains('\\'))
                .map(str::to_string)
                .ok_or(format!("line {line_no}: `{key}` takes a plain \"string\""))
        };
        let number = || -> Result<u32, String> { value.parse().map_err(|_| format!("line {line_no}: `{key}` takes a whole number, found `{value}`")) };
        match table.labs.last_mut() {
            None => match key {
                "step-timeout" => table.step_timeout = Duration::from_secs(number()?.into()),
                "book-url" => table.book_url = string()?,
                _ => return Err(format!("line {line_no}: unknown key `{key}` before the first [[lab]]")),
            },
            Some(lab) => match key {
                "id" => lab.id = string()?,
                "title" => lab.title = string()?,
                "package" => lab.package = string()?,
                "dir" => lab.dir = string()?,
                "pages" => lab.pages = string()?,
                "hidden" => lab.hidden = Some(number()?),
                "test" => lab.test = Some(string()?),
                _ => match key.strip_prefix("step").and_then(|n| n.parse::<u32>().ok()) {
                    Some(step) if lab.points.iter().any(|(s, _)| *s == step) => return Err(format!("line {line_no}: step{step} has two rows")),
                    Some(step) => lab.points.push((step, number()?)),
                    None => return Err(format!("line {line_no}: unknown key `{key}` (a lab takes id, title, package, dir, pages, test, stepN, hidden)")),
                },
            },
        }
    }
    for (i, lab) in table.labs.iter().enumerate() {
        for (what, value) in [("id", &lab.id), ("title", &lab.title), ("package", &lab.package), ("dir", &lab.dir), ("pages", &lab.pages)] {
            if value.is_empty() {
                return Err(format!("lab {}: `{what}` is missing", i + 1));
            }
        }
        if !lab.id.chars().all(|c| c.is_ascii_alphanumeric()) {
            // Classroom's reporter takes step ids made of letters and digits.
            return Err(format!("lab id `{}`: letters and digits only", lab.id));
        }
        if table.labs.iter().filter(|l| l.id == lab.id).count() > 1 {
            return Err(format!("two labs have the id `{}`", lab.id));
        }
    }
    if table.labs.is_empty() {
        return Err("no [[lab]] in the table".into());
    }
    Ok(table)
}

fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

/// One graded step: its number, its test binaries (or, for a lab with one
/// `test` binary, the name prefix `stepN_` of its tests), its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub n: u32,
    pub tests: Vec<String>,
    pub points: u32,
}

/// The lab's steps, found in `<dir>/tests/` the way cargo finds test
/// targets (`name.rs`, or `name/main.rs`), checked against the table. A lab
/// with one `test` binary has the table's steps, each its tests named
/// `stepN_*`; which tests those are, the binary says when it is built
/// ([`list_tests`], [`check_listed`]).
pub fn discover(root: &Path, lab: &Lab) -> Result<Vec<Step>, String> {
    let tests_dir = root.join(&lab.dir).join("tests");
    if let Some(test) = &lab.test {
        if !tests_dir.join(format!("{test}.rs")).is_file() && !tests_dir.join(test).join("main.rs").is_file() {
            return Err(format!("{}: grade/{TABLE} names the test `{test}`, but {} has no {test}.rs or {test}/main.rs", lab.id, tests_dir.display()));
        }
        let mut steps: Vec<Step> = lab.points.iter().map(|&(n, points)| Step { n, tests: vec![format!("step{n}_")], points }).collect();
        steps.sort_by_key(|s| s.n);
        return Ok(steps);
    }
    let mut found: Vec<(u32, String)> = Vec::new();
    let entries = fs::read_dir(&tests_dir).map_err(|e| format!("{}: {e}", tests_dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = if path.is_dir() {
            path.join("main.rs").is_file().then_some(name)
        } else {
            name.strip_suffix(".rs").map(str::to_string)
        };
        if let Some(target) = target {
            if let Some(n) = step_number(&target) {
                found.push((n, target));
            }
        }
    }
    found.sort();
    let mut steps: Vec<Step> = Vec::new();
    for (n, target) in found {
        match steps.last_mut() {
            Some(step) if step.n == n => step.tests.push(target),
            _ => {
                let points = lab.points.iter().find(|(s, _)| *s == n).map(|(_, p)| *p);
                let points = points.ok_or(format!("{}: {}/tests/{target}.rs is step {n}, which has no `step{n} = <points>` row in grade/{TABLE}", lab.id, lab.dir))?;
                steps.push(Step { n, tests: vec![target], points });
            }
        }
    }
    for (n, _) in &lab.points {
        if !steps.iter().any(|s| s.n == *n) {
            return Err(format!("{}: grade/{TABLE} gives points to step{n}, but {} has no test named step{n} or step{n}_*", lab.id, tests_dir.display()));
        }
    }
    Ok(steps)
}

/// The test names a lab's one `test` binary lists (`cargo test -p <package>
/// --test <test> -- --list`, libtest's `NAME: test` lines); it must be
/// built already ([`build`]).
pub fn list_tests(root: &Path, lab: &Lab, bound: Duration) -> Result<Vec<String>, String> {
    let test = lab.test.as_deref().ok_or(format!("{}: not a one-binary lab", lab.id))?;
    let log = target_dir(root).join("grade").join(format!("{}-list.log", lab.id));
    let mut cmd = Command::new(cargo());
    cmd.args(["test", "-q", "-p", &lab.package, "--test", test, "--", "--list"]).current_dir(root);
    let (ok, _, _, text) = run_bounded(cmd, &log, bound)?;
    let names: Vec<String> = text.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_string).collect();
    if !ok || names.is_empty() {
        return Err(format!("`cargo test -p {} --test {test} -- --list` listed no tests; log: {}", lab.package, log.display()));
    }
    Ok(names)
}

/// Every listed test belongs to a step of the table, and every step has a
/// test: the check [`discover`] makes on file names, made on test names.
pub fn check_listed(lab: &Lab, steps: &[Step], names: &[String]) -> Result<(), String> {
    for name in names {
        match step_number(name).filter(|n| name.starts_with(&format!("step{n}_"))) {
            Some(n) if steps.iter().any(|s| s.n == n) => {}
            Some(n) => return Err(format!("{}: the test {name} is step {n}, which has no `step{n} = <points>` row in grade/{TABLE}", lab.id)),
            None => return Err(format!("{}: the test {name} is in no step (a test of `{}` is named stepN_<what>)", lab.id, lab.test.as_deref().unwrap_or_default())),
        }
    }
    for step in steps {
        if !names.iter().any(|t| t.starts_with(&format!("step{}_", step.n))) {
            return Err(format!("{}: grade/{TABLE} gives points to step{}, but the test `{}` has no test named step{}_*", lab.id, step.n, lab.test.as_deref().unwrap_or_default(), step.n));
        }
    }
    Ok(())
}

/// `step3` → 3, `step3_idle` → 3, `steps`, `step`, `step3x` → none.
fn step_number(target: &str) -> Option<u32> {
    let rest = target.strip_prefix("step")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    (!digits.is_empty() && (after.is_empty() || after.starts_with('_'))).then(|| digits.parse().ok()).flatten()
}

/// Where a step is explained: the page's path in the book's sources, its
/// heading, and its web address when the table gives the book's.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub path: String,
    pub heading: Option<String>,
    pub url: Option<String>,
    /// The sources are here (the repository), not only their headings.
    pub present: bool,
}

pub fn page(root: &Path, table: &Table, lab: &Lab, n: u32) -> Page {
    let path = format!("{}/step{n}.md", lab.pages.trim_end_matches('/'));
    let text = fs::read_to_string(root.join(&path)).ok();
    let heading = match &text {
        Some(text) => text.lines().find_map(|l| l.strip_prefix("# ")).map(|h| h.trim().to_string()),
        None => fs::read_to_string(root.join("grade").join(PAGES_FILE))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.split_once('\t').filter(|(p, _)| *p == path).map(|(_, h)| h.to_string())),
    };
    let html = path.strip_prefix("src/").unwrap_or(&path).replace(".md", ".html");
    let url = (!table.book_url.is_empty()).then(|| format!("{}/{html}", table.book_url.trim_end_matches('/')));
    Page { path, heading, url, present: text.is_some() }
}

/// What running one step (or a lab's hidden tests) gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    pub success: bool,
    pub timed_out: bool,
    pub took: Duration,
    /// The first failing test's message, first line.
    pub why: Option<String>,
    pub log: PathBuf,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.success && !self.timed_out && self.failed.is_empty() && !self.passed.is_empty()
    }
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The target folder cargo uses here (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Runs `cmd` with its output in `log`, in its own process group, killed
/// with every child after `bound`.
pub fn run_bounded(mut cmd: Command, log: &Path, bound: Duration) -> Result<(bool, bool, Duration, String), String> {
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let file2 = file.try_clone().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut child = cmd
        .env("CARGO_TERM_COLOR", "never")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file2)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > bound {
            timed_out = true;
            // The child leads its own process group (process_group(0) above):
            // kill the whole group, test binaries included. Through libc rather than
            // the kill(1) program, whose parsing of a negative pid varies (procps-ng
            // 4.0.2 here took `kill -KILL -<pgid>` for "every process").
            kill_group(child.id());
            break child.wait().map_err(|e| e.to_string())?;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = fs::read_to_string(log).unwrap_or_default();
    Ok((status.success() && !timed_out, timed_out, start.elapsed(), text))
}

/// SIGKILL to the process group `pgid` (a child spawned with
/// `process_group(0)`, so its group id is its pid).
pub fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    if pgid > 1 {
        // SAFETY: killpg only sends a signal; a group id above 1 names the
        // child's own group, never "every process" (which needs -1).
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Compiles the lab's package and its tests once, so a step's time bound
/// measures its tests, and a pool that does not compile is said so once.
pub fn build(root: &Path, lab: &Lab, bound: Duration) -> Result<(), String> {
    let log = target_dir(root).join("grade").join(format!("{}-build.log", lab.id));
    let mut cmd = Command::new(cargo());
    cmd.args(["test", "--no-run", "-p", &lab.package]).current_dir(root);
    let (ok, timed_out, _, text) = run_bounded(cmd, &log, bound)?;
    if ok {
        return Ok(());
    }
    if timed_out {
        return Err(format!("building `{}` took longer than {bound:?}", lab.package));
    }
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error")).take(5).collect();
    Err(format!("`{}` does not compile:\n    {}\n  (the whole output: cargo test -p {} --no-run)", lab.package, errors.join("\n    "), lab.package))
}

/// `cargo test -p <package> --test <each test of the step>` under the
/// watchdog, or for a one-binary lab `cargo test -p <package> --test <test>
/// stepN_`.
pub fn run_step(root: &Path, lab: &Lab, step: &Step, bound: Duration) -> Result<Outcome, String> {
    let log = target_dir(root).join("grade").join(format!("{}-step{}.log", lab.id, step.n));
    let mut cmd = Command::new(cargo());
    cmd.args(["test", "--no-fail-fast", "-p", &lab.package]).current_dir(root);
    match &lab.test {
        Some(test) => {
            cmd.args(["--test", test]).args(&step.tests);
        }
        None => {
            for test in &step.tests {
                cmd.args(["--test", test]);
            }
        }
    }
    outcome(cmd, log, bound)
}

fn outcome(cmd: Command, log: PathBuf, bound: Duration) -> Result<Outcome, String> {
    let (success, timed_out, took, text) = run_bounded(cmd, &log, bound)?;
    let (mut passed, mut failed) = test_lines(&text);
    // libtest prints them as they finish; the table names the first by name.
    passed.sort();
    failed.sort();
    let why = failed.first().and_then(|name| first_message(&text, name));
    Ok(Outcome { passed, failed, success, timed_out, took, why, log })
}

/// The `test NAME ... ok` / `... FAILED` lines of libtest's output.
fn test_lines(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some((name, result)) = line.strip_prefix("test ").and_then(|r| r.split_once(" ... ")) {
            match result.trim() {
                "ok" => passed.push(name.to_string()),
                "FAILED" => failed.push(name.to_string()),
                _ => {}
            }
        }
    }
    (passed, failed)
}

/// The first line of what the failing test said after its last "panicked
/// at" (earlier ones are usually jobs that panic on purpose); for a test
/// with its own main that prints `---- NAME ----` and its verdict (Lab 1's
/// `graded`), the verdict's first line.
fn first_message(text: &str, test: &str) -> Option<String> {
    let (section, own_main) = match text.split(&format!("---- {test} stdout ----")).nth(1) {
        Some(section) => (section, false),
        None => (text.split(&format!("---- {test} ----\n")).nth(1)?, true),
    };
    let section = section.split("\nfailures:").next().unwrap_or(section);
    // A test that reports its own verdict (Lab 2's, with a `[graded] NAME
    // FAILED` banner) has no "panicked at" in its output.
    let after = match section.rsplit_once("panicked at") {
        Some((_, rest)) if !own_main => rest.split_once('\n')?.1,
        _ => section,
    };
    let line = after
        .lines()
        .take_while(|l| !l.starts_with("---- ") && !l.starts_with("note: ") && *l != "failures:")
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("[graded] "))?;
    let mut line = line.to_string();
    if line.chars().count() > 150 {
        line = line.chars().take(150).collect::<String>() + "…";
    }
    Some(line)
}

/// The hidden tests of a lab, `<dir>/<lab id>/` (test files and their
/// helper modules), run against the lab's package: they are copied into a
/// scratch crate under the target folder that depends on the package by
/// path, so the student's folder is never touched. `None`: not provided.
pub fn run_hidden(root: &Path, lab: &Lab, dir: &Path, bound: Duration) -> Result<Option<Outcome>, String> {
    let source = dir.join(&lab.id);
    if !source.is_dir() {
        return Ok(None);
    }
    let scratch = target_dir(root).join("grade").join(format!("hidden-{}", lab.id));
    let _ = fs::remove_dir_all(&scratch);
    copy_dir(&source, &scratch.join("tests")).map_err(|e| format!("copying {}: {e}", source.display()))?;
    let package_dir = fs::canonicalize(root.join(&lab.dir)).map_err(|e| format!("{}: {e}", lab.dir))?;
    let manifest = format!(
        "# Written by the grader: {}'s hidden tests against {}.\n[package]\nname = \"hidden-tests-{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n{} = {{ path = \"{}\" }}\n\n[workspace]\n",
        lab.id,
        lab.package,
        lab.id,
        lab.package,
        package_dir.display()
    );
    fs::write(scratch.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    if let Ok(lock) = fs::read(root.join("Cargo.lock")) {
        let _ = fs::write(scratch.join("Cargo.lock"), lock);
    }
    let mut cmd = Command::new(cargo());
    cmd.args(["test", "--no-fail-fast", "--manifest-path"])
        .arg(scratch.join("Cargo.toml"))
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir(root).join("grade/hidden-target"));
    // Compiling the scratch crate counts toward the bound as well.
    outcome(cmd, scratch.with_extension("log"), bound * 2).map(Some)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target)?
        } else {
            fs::copy(&path, &target).map(|_| ())?
        }
    }
    Ok(())
}

/// A string as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out + "\""
}

/// Pinned by commit, with the tag each one was when pinned.
pub const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";
pub const COMMAND_GRADER: &str = "classroom-resources/autograding-command-grader@d5b3fa6f50f7f629b7bfae0cc3e4c58852b412d5 # v1";
pub const REPORTER: &str = "classroom-resources/autograding-grading-reporter@d13b5912daf5042ac1b71bc38bdb4a6bcd61d8ca # v1";

/// The Classroom test id of a step or of a lab's hidden tests: letters and
/// digits only (the reporter reads `<ID>_RESULTS`).
pub fn runner_id(lab: &Lab, what: &str) -> String {
    format!("{}{what}", lab.id)
}

/// "Lab 2" of "Lab 2: build a thread pool", for the Classroom test names.
fn short_title(lab: &Lab) -> String {
    lab.title.split(':').next().unwrap_or(&lab.title).replace('"', "'")
}

/// `.github/workflows/classroom.yml` for the table: one Classroom test per
/// step with its points, then each lab's hidden tests when the instructor
/// has configured them, and the reporter that adds the points up.
pub fn classroom_workflow(root: &Path, table: &Table) -> Result<String, String> {
    let mut y = String::new();
    y += "# GitHub Classroom autograding: every lab step is one test with its points,\n";
    y += "# from grade/grading.toml. Written by the course's `cargo xtask bundle`;\n";
    y += "# after changing the points: cargo run -p grade -- --workflow > .github/workflows/classroom.yml\n";
    y += "#\n";
    y += "# Hidden tests: set the secret HIDDEN_TESTS_TOKEN (a token that can read the\n";
    y += "# private repository) and the variable HIDDEN_TESTS_REPO (owner/name) in the\n";
    y += "# organisation or this repository; without them the run says they were skipped\n";
    y += "# and grades the visible steps only.\n";
    y += "name: Autograding Tests\n";
    y += "on:\n  - push\n  - repository_dispatch\n  - workflow_dispatch\n";
    y += "permissions:\n  checks: write\n  actions: read\n  contents: read\n";
    y += "jobs:\n  run-autograding-tests:\n    runs-on: ubuntu-24.04\n    if: github.actor != 'github-classroom[bot]'\n";
    y += "    steps:\n";
    let _ = write!(y, "      - name: Checkout code\n        uses: {CHECKOUT}\n");
    y += "      - name: Build the exercises and the grader\n";
    y += "        # A pool that does not compile fails every step below, each saying so.\n";
    y += "        continue-on-error: true\n";
    let packages: Vec<String> = table.labs.iter().map(|l| format!("-p {}", l.package)).collect();
    let _ = writeln!(y, "        run: cargo build -q -p grade && cargo test -q --no-run {}", packages.join(" "));
    let minutes = (table.step_timeout.as_secs() * 2).div_ceil(60).max(1);
    let mut visible = Vec::new();
    let mut hidden = Vec::new();
    for lab in &table.labs {
        for step in discover(root, lab)? {
            let id = runner_id(lab, &format!("step{}", step.n));
            let heading = page(root, table, lab, step.n).heading.unwrap_or_else(|| format!("Step {}", step.n));
            let _ = write!(
                y,
                "      - name: \"{title}, {heading}\"\n        id: {id}\n        uses: {COMMAND_GRADER}\n        with:\n          test-name: \"{title}, {heading}\"\n          command: cargo run -q -p grade -- {lab}/step{n}\n          timeout: {minutes}\n          max-score: {points}\n",
                title = short_title(lab),
                heading = heading.replace('"', "'"),
                lab = lab.id,
                n = step.n,
                points = step.points,
            );
            visible.push(id);
        }
    }
    let with_hidden: Vec<&Lab> = table.labs.iter().filter(|l| l.hidden.is_some()).collect();
    if !with_hidden.is_empty() {
        y += "      - name: Are the hidden tests configured?\n        id: hiddentests\n        env:\n";
        y += "          TOKEN: ${{ secrets.HIDDEN_TESTS_TOKEN }}\n          REPO: ${{ vars.HIDDEN_TESTS_REPO }}\n";
        y += "        run: |\n";
        y += "          if [ -n \"$TOKEN\" ] && [ -n \"$REPO\" ]; then\n";
        y += "            echo \"present=true\" >> \"$GITHUB_OUTPUT\"\n";
        y += "          else\n";
        y += "            echo \"present=false\" >> \"$GITHUB_OUTPUT\"\n";
        y += "          fi\n";
        let _ = write!(
            y,
            "      - name: Check out the hidden tests\n        if: steps.hiddentests.outputs.present == 'true'\n        uses: {CHECKOUT}\n        with:\n          repository: ${{{{ vars.HIDDEN_TESTS_REPO }}}}\n          token: ${{{{ secrets.HIDDEN_TESTS_TOKEN }}}}\n          path: .hidden-tests\n          persist-credentials: false\n"
        );
        for lab in with_hidden {
            let id = runner_id(lab, "hidden");
            let _ = write!(
                y,
                "      - name: \"{title}: hidden tests\"\n        id: {id}\n        if: steps.hiddentests.outputs.present == 'true'\n        uses: {COMMAND_GRADER}\n        with:\n          test-name: \"{title}: hidden tests\"\n          command: cargo run -q -p grade -- --hidden .hidden-tests {lab}/hidden\n          timeout: {minutes}\n          max-score: {points}\n",
                title = short_title(lab),
                lab = lab.id,
                points = lab.hidden.unwrap_or(0),
            );
            let _ = write!(
                y,
                "      - name: \"{title}: hidden tests skipped\"\n        if: steps.hiddentests.outputs.present != 'true'\n        run: cargo run -q -p grade -- --hidden .hidden-tests {lab}/hidden\n",
                title = short_title(lab),
                lab = lab.id,
            );
            hidden.push(id);
        }
    }
    y += "      - name: Autograding Reporter\n";
    let _ = writeln!(y, "        uses: {REPORTER}");
    y += "        env:\n";
    for id in visible.iter().chain(&hidden) {
        let _ = writeln!(y, "          {}_RESULTS: \"${{{{ steps.{id}.outputs.result }}}}\"", id.to_uppercase());
    }
    y += "        with:\n";
    let all: Vec<String> = visible.iter().chain(&hidden).cloned().collect();
    if hidden.is_empty() {
        let _ = writeln!(y, "          runners: {}", visible.join(","));
    } else {
        let _ = writeln!(y, "          runners: ${{{{ steps.hiddentests.outputs.present == 'true' && '{}' || '{}' }}}}", all.join(","), visible.join(","));
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE_TEXT: &str = "# points\nstep-timeout = 60\n\n[[lab]]\nid = \"lab2\"\ntitle = \"Lab 2: pool\" # trailing comment\npackage = \"exercises\"\ndir = \"exercises\"\npages = \"src/lab2\"\nstep1 = 10\nstep2 = 20\nhidden = 5\n";

    #[test]
    fn the_table_parses_and_rejects_typos() {
        let table = parse_table(TABLE_TEXT).unwrap();
        assert_eq!(table.step_timeout, Duration::from_secs(60));
        assert_eq!(table.labs[0].points, vec![(1, 10), (2, 20)]);
        assert_eq!(table.labs[0].hidden, Some(5));
        assert_eq!(table.labs[0].title, "Lab 2: pool");
        assert!(parse_table(&TABLE_TEXT.replace("step2 = 20", "stpe2 = 20")).unwrap_err().contains("unknown key `stpe2`"));
        assert!(parse_table(&TABLE_TEXT.replace("step2 = 20", "step1 = 20")).unwrap_err().contains("two rows"));
        assert!(parse_table(&TABLE_TEXT.replace("step2 = 20", "step2 = ten")).unwrap_err().contains("whole number"));
        assert!(parse_table(&TABLE_TEXT.replace("id = \"lab2\"", "id = \"lab-2\"")).is_err());
        assert!(parse_table("step-timeout = 5\n").unwrap_err().contains("no [[lab]]"));
    }

    #[test]
    fn the_shipped_table_parses() {
        let table = load_table(&grader_dir()).unwrap();
        assert!(table.labs.iter().all(|l| !l.points.is_empty()));
    }

    #[test]
    fn step_numbers_come_from_test_names() {
        assert_eq!(step_number("step3"), Some(3));
        assert_eq!(step_number("step3_idle"), Some(3));
        assert_eq!(step_number("step12"), Some(12));
        for name in ["steps", "step", "step3x", "common", "xstep3"] {
            assert_eq!(step_number(name), None, "{name}");
        }
    }

    #[test]
    fn steps_are_discovered_and_checked_against_the_table() {
        let root = std::env::temp_dir().join(format!("grade-discover-{}", std::process::id()));
        let tests = root.join("ex/tests");
        fs::create_dir_all(tests.join("common")).unwrap();
        fs::create_dir_all(tests.join("step2_dir")).unwrap();
        for f in ["step1.rs", "step1_more.rs", "common/mod.rs", "step2_dir/main.rs", "helper.rs"] {
            fs::write(tests.join(f), "").unwrap();
        }
        let mut lab = parse_table(TABLE_TEXT).unwrap().labs.remove(0);
        lab.dir = "ex".into();
        let steps = discover(&root, &lab).unwrap();
        assert_eq!(steps, vec![Step { n: 1, tests: vec!["step1".into(), "step1_more".into()], points: 10 }, Step { n: 2, tests: vec!["step2_dir".into()], points: 20 }]);
        fs::write(tests.join("step3.rs"), "").unwrap();
        assert!(discover(&root, &lab).unwrap_err().contains("step 3, which has no `step3 = <points>` row"));
        fs::remove_file(tests.join("step3.rs")).unwrap();
        lab.points.push((4, 1));
        assert!(discover(&root, &lab).unwrap_err().contains("no test named step4"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_one_binary_lab_grades_steps_by_test_name() {
        let root = std::env::temp_dir().join(format!("grade-one-binary-{}", std::process::id()));
        fs::create_dir_all(root.join("ex/tests/graded")).unwrap();
        let mut lab = parse_table(&TABLE_TEXT.replace("pages = ", "test = \"graded\"\npages = ")).unwrap().labs.remove(0);
        assert_eq!(lab.test.as_deref(), Some("graded"));
        lab.dir = "ex".into();
        assert!(discover(&root, &lab).unwrap_err().contains("no graded.rs or graded/main.rs"));
        fs::write(root.join("ex/tests/graded/main.rs"), "").unwrap();
        let steps = discover(&root, &lab).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(steps, vec![Step { n: 1, tests: vec!["step1_".into()], points: 10 }, Step { n: 2, tests: vec!["step2_".into()], points: 20 }]);
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(check_listed(&lab, &steps, &names(&["step1_median", "step2_spawn", "step2_join"])), Ok(()));
        assert!(check_listed(&lab, &steps, &names(&["step1_median"])).unwrap_err().contains("no test named step2_*"));
        assert!(check_listed(&lab, &steps, &names(&["step1_a", "step2_b", "step3_c"])).unwrap_err().contains("step3 = <points>"));
        assert!(check_listed(&lab, &steps, &names(&["step1_a", "step2_b", "helper"])).unwrap_err().contains("in no step"));
        // What Lab 1's `graded` main prints for a failure (no libtest, no "panicked at").
        let text = "running 2 tests\ntest step1_median ... FAILED\ntest step1_sorted ... ok\n\nfailures:\n\n---- step1_median ----\nnot implemented yet: lab1::median\n(the test was calling median)\n\nfailures:\n    step1_median\n";
        assert_eq!(first_message(text, "step1_median").as_deref(), Some("not implemented yet: lab1::median"));
    }

    #[test]
    fn failures_are_read_from_libtest_output() {
        let text = "running 2 tests\ntest step1_a ... ok\ntest step1_b ... FAILED\n\nfailures:\n\n---- step1_b stdout ----\n\nthread 'step1_b' (12) panicked at tests/step1.rs:3:5:\n\n\nnot implemented yet: ThreadPool::build (step 1)\n(more)\nnote: run with `RUST_BACKTRACE=1`\n";
        let (passed, failed) = test_lines(text);
        assert_eq!((passed, failed.clone()), (vec!["step1_a".to_string()], vec!["step1_b".to_string()]));
        assert_eq!(first_message(text, "step1_b").as_deref(), Some("not implemented yet: ThreadPool::build (step 1)"));
        let banner = "test step2_x ... FAILED\n\nfailures:\n\n---- step2_x stdout ----\n\n[graded] step2_x FAILED\n\nnot implemented yet: ThreadPool::build (step 1)\n(more)\n\n---- step2_y stdout ----\n";
        assert_eq!(first_message(banner, "step2_x").as_deref(), Some("not implemented yet: ThreadPool::build (step 1)"));
    }

    #[test]
    fn the_watchdog_stops_a_hung_step_and_its_children() {
        let log = std::env::temp_dir().join(format!("grade-watchdog-{}.log", std::process::id()));
        let mut cmd = Command::new("sh");
        // The child sleeps in a grandchild: the whole group must go.
        cmd.args(["-c", "sleep 30 & wait"]);
        let start = Instant::now();
        let (ok, timed_out, _, _) = run_bounded(cmd, &log, Duration::from_millis(300)).unwrap();
        let _ = fs::remove_file(&log);
        assert!(!ok && timed_out, "a command past its bound must count as failed and timed out");
        assert!(start.elapsed() < Duration::from_secs(20), "the watchdog did not stop the command");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn the_workflow_has_one_test_per_step_with_its_points() {
        let table = load_table(&grader_dir()).unwrap();
        let yaml = classroom_workflow(&workspace_root(), &table).unwrap();
        for lab in &table.labs {
            for (n, points) in &lab.points {
                let step = format!("command: cargo run -q -p grade -- {}/step{n}\n", lab.id);
                let at = yaml.find(&step).unwrap_or_else(|| panic!("no Classroom test for {}/step{n}:\n{yaml}", lab.id));
                assert!(yaml[at..].lines().nth(2).unwrap().ends_with(&format!("max-score: {points}")), "{}", &yaml[at..]);
            }
        }
        assert!(yaml.contains("runners: ${{ steps.hiddentests.outputs.present == 'true' && 'lab1step1,"), "{yaml}");
        assert!(yaml.contains("-p lab1 -p exercises\n"), "the build step builds both labs:\n{yaml}");
    }
}
