//! `cargo run -p grade`: every lab step, passed or not, its points, and the
//! page to read next; the same as JSON in `target/grade.json`.

use grade::{Lab, Outcome, Page, Step, Table};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
usage: cargo run -p grade -- [--hidden DIR] [WHAT...]

  (nothing)        grade every step of every lab: a table, and target/grade.json
  lab2             every step of one lab
  lab2/step3       one step (what GitHub Classroom runs, one test per step);
                   `step3` alone works when only one lab has a step 3
  --hidden DIR     also run the instructor's hidden tests from DIR/<lab>/
                   (lab2/hidden selects them alone); when DIR/<lab>/ is
                   missing they are reported as skipped
  --workflow       print the GitHub Classroom workflow for grade/grading.toml

Exit status: 0 when everything graded passed (or was skipped), 1 when
something failed, 2 when the grader itself could not run.
";

/// What one row of the table says.
struct Row {
    lab: usize,
    /// `step3`, or `hidden`.
    what: String,
    points: u32,
    result: Result<Option<Outcome>, String>,
}

impl Row {
    fn passed(&self) -> bool {
        matches!(&self.result, Ok(Some(o)) if o.ok())
    }
    fn skipped(&self) -> bool {
        matches!(self.result, Ok(None))
    }
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("grade: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<bool, String> {
    let root = grade::workspace_root();
    let table = grade::load_table(&grade::grader_dir())?;
    let mut hidden: Option<PathBuf> = None;
    let mut wanted = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(true);
            }
            "--workflow" => {
                print!("{}", grade::classroom_workflow(&root, &table)?);
                return Ok(true);
            }
            "--hidden" => hidden = Some(root.join(args.next().ok_or("--hidden takes a folder")?)),
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`\n\n{HELP}")),
            _ => wanted.push(arg),
        }
    }
    let steps: Vec<Vec<Step>> = table.labs.iter().map(|lab| grade::discover(&root, lab)).collect::<Result<_, _>>()?;
    let selected = select(&table, &steps, &wanted, hidden.is_some())?;

    let mut rows = Vec::new();
    for (l, lab) in table.labs.iter().enumerate() {
        let mine: Vec<&(usize, String)> = selected.iter().filter(|(i, _)| *i == l).collect();
        if mine.is_empty() {
            continue;
        }
        let mut built = grade::build(&root, lab, table.step_timeout * 3);
        if built.is_ok() && lab.test.is_some() {
            // One binary for every step: its tests' names say which step each is.
            built = grade::list_tests(&root, lab, table.step_timeout).and_then(|names| grade::check_listed(lab, &steps[l], &names));
        }
        for (_, what) in mine {
            let (points, result) = match what.as_str() {
                "hidden" => {
                    let dir = hidden.as_deref().expect("hidden is selected only with --hidden");
                    (lab.hidden.unwrap_or(0), grade::run_hidden(&root, lab, dir, table.step_timeout))
                }
                step => {
                    let step = steps[l].iter().find(|s| format!("step{}", s.n) == step).expect("selected steps exist");
                    let result = match &built {
                        Err(e) => Err(e.clone()),
                        Ok(()) => grade::run_step(&root, lab, step, table.step_timeout).map(Some),
                    };
                    (step.points, result)
                }
            };
            rows.push(Row { lab: l, what: what.clone(), points, result });
        }
    }
    print_table(&root, &table, &rows, hidden.as_deref());
    let json = grade::target_dir(&root).join("grade.json");
    std::fs::create_dir_all(json.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&json, to_json(&root, &table, &rows)).map_err(|e| format!("{}: {e}", json.display()))?;
    println!("Results as JSON: {}", json.strip_prefix(&root).unwrap_or(&json).display());
    Ok(rows.iter().all(|r| r.passed() || r.skipped()))
}

/// (lab index, `stepN` or `hidden`) for every selector, in table order.
fn select(table: &Table, steps: &[Vec<Step>], wanted: &[String], with_hidden: bool) -> Result<Vec<(usize, String)>, String> {
    let everything = |l: usize, lab: &Lab| -> Vec<(usize, String)> {
        let mut all: Vec<(usize, String)> = steps[l].iter().map(|s| (l, format!("step{}", s.n))).collect();
        if with_hidden && lab.hidden.is_some() {
            all.push((l, "hidden".into()));
        }
        all
    };
    if wanted.is_empty() {
        return Ok(table.labs.iter().enumerate().flat_map(|(l, lab)| everything(l, lab)).collect());
    }
    let mut out = Vec::new();
    for w in wanted {
        let (lab_id, what) = match w.split_once('/') {
            Some((lab, what)) => (Some(lab), Some(what)),
            None if table.labs.iter().any(|l| l.id == *w) => (Some(w.as_str()), None),
            None => (None, Some(w.as_str())),
        };
        let labs: Vec<usize> = (0..table.labs.len()).filter(|&l| lab_id.is_none_or(|id| table.labs[l].id == id)).collect();
        if labs.is_empty() {
            return Err(format!("no lab `{}` in grade/grading.toml", lab_id.unwrap_or_default()));
        }
        let mut found: Vec<(usize, String)> = Vec::new();
        for l in labs {
            match what {
                None => found.extend(everything(l, &table.labs[l])),
                Some("hidden") if table.labs[l].hidden.is_some() => {
                    if !with_hidden {
                        return Err(format!("`{w}`: the hidden tests need --hidden DIR"));
                    }
                    found.push((l, "hidden".into()));
                }
                Some(step) if steps[l].iter().any(|s| format!("step{}", s.n) == step) => found.push((l, step.to_string())),
                Some(_) => {}
            }
        }
        match found.len() {
            0 => return Err(format!("nothing to grade for `{w}` (steps are written like lab2/step3)")),
            n if n > 1 && what.is_some() && lab_id.is_none() => return Err(format!("`{w}` is in {n} labs: say which, like lab2/{w}")),
            _ => out.extend(found),
        }
    }
    Ok(out)
}

fn page_of(root: &Path, table: &Table, lab: &Lab, what: &str) -> Option<Page> {
    let n: u32 = what.strip_prefix("step")?.parse().ok()?;
    Some(grade::page(root, table, lab, n))
}

fn print_table(root: &Path, table: &Table, rows: &[Row], hidden: Option<&Path>) {
    let mut out = String::new();
    let mut lab_now = usize::MAX;
    let (mut total, mut max) = (0, 0);
    for row in rows {
        let lab = &table.labs[row.lab];
        if row.lab != lab_now {
            lab_now = row.lab;
            let _ = writeln!(out, "\n{}   (cargo test -p {} stepN)\n  {:<7} {:<8} {:>7}  tests", lab.title, lab.package, "step", "result", "points");
        }
        let (result, earned, detail) = match &row.result {
            Err(e) => ("FAILED", 0, e.clone()),
            Ok(None) => ("skipped", 0, skipped_note(hidden, lab)),
            Ok(Some(o)) => {
                let count = format!("{} of {} passed", o.passed.len(), o.passed.len() + o.failed.len());
                if o.ok() {
                    ("passed", row.points, count)
                } else if o.timed_out {
                    ("FAILED", 0, format!("stopped after {:.0?}: a test hung past its own watchdog; log: {}", o.took, rel(root, &o.log)))
                } else {
                    let why = match (o.failed.first(), &o.why) {
                        (Some(t), Some(why)) => format!(": {t}: {why}"),
                        (Some(t), None) => format!(": {t}"),
                        (None, _) => format!(": no test ran; log: {}", rel(root, &o.log)),
                    };
                    ("FAILED", 0, count + &why)
                }
            }
        };
        if !row.skipped() {
            total += earned;
            max += row.points;
        }
        let points = if row.skipped() { "-".to_string() } else { format!("{earned}/{}", row.points) };
        let _ = writeln!(out, "  {:<7} {:<8} {:>7}  {}", row.what, result, points, detail.replace('\n', "\n                            "));
    }
    let _ = writeln!(out, "\n  total {total}/{max} points");
    if let Some(row) = rows.iter().find(|r| !r.passed() && !r.skipped() && r.what != "hidden") {
        let lab = &table.labs[row.lab];
        if let Some(page) = page_of(root, table, lab, &row.what) {
            let heading = page.heading.clone().unwrap_or_else(|| row.what.clone());
            let html = page.path.strip_prefix("src/").unwrap_or(&page.path).replace(".md", ".html");
            let place = match (&page.url, page.present) {
                (Some(url), _) => url.clone(),
                (None, true) => format!("{} (in the built book: {html})", page.path),
                (None, false) => format!("the course book's page {html}"),
            };
            let short = lab.title.split(':').next().unwrap_or(&lab.title);
            let _ = writeln!(out, "\nNext: {short}, {heading}\n  read: {place}\n  then: cargo test -p {} {}", lab.package, row.what);
        }
    } else if rows.iter().all(|r| r.passed() || r.skipped()) {
        let _ = writeln!(out, "\nEvery step graded here passes.");
    }
    print!("{out}");
}

fn skipped_note(hidden: Option<&Path>, lab: &Lab) -> String {
    let dir = hidden.map(|d| d.join(&lab.id).display().to_string()).unwrap_or_default();
    format!(
        "hidden tests skipped: {dir} is not there. On GitHub Classroom the instructor \
         provides them with the secret HIDDEN_TESTS_TOKEN and the variable HIDDEN_TESTS_REPO; \
         without them only the visible steps count."
    )
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn to_json(root: &Path, table: &Table, rows: &[Row]) -> String {
    let s = grade::json_string;
    let mut items = Vec::new();
    for row in rows {
        let lab = &table.labs[row.lab];
        let mut j = format!("{{\"lab\":{},\"lab_title\":{},\"item\":{},", s(&lab.id), s(&lab.title), s(&row.what));
        let status = if row.passed() { "passed" } else if row.skipped() { "skipped" } else { "failed" };
        let earned = if row.passed() { row.points } else { 0 };
        let _ = write!(j, "\"status\":{},\"points\":{earned},\"max_points\":{},", s(status), row.points);
        match &row.result {
            Ok(Some(o)) => {
                let list = |v: &[String]| v.iter().map(|t| s(t)).collect::<Vec<_>>().join(",");
                let _ = write!(
                    j,
                    "\"passed_tests\":[{}],\"failed_tests\":[{}],\"timed_out\":{},\"seconds\":{:.2},\"message\":{},\"log\":{},",
                    list(&o.passed),
                    list(&o.failed),
                    o.timed_out,
                    o.took.as_secs_f64(),
                    o.why.as_deref().map_or("null".into(), s),
                    s(&rel(root, &o.log))
                );
            }
            Ok(None) => j += "\"message\":\"hidden tests not provided\",",
            Err(e) => {
                let _ = write!(j, "\"message\":{},", s(e));
            }
        }
        match page_of(root, table, lab, &row.what) {
            Some(p) => {
                let _ = write!(j, "\"page\":{},\"heading\":{},\"url\":{}}}", s(&p.path), p.heading.as_deref().map_or("null".into(), s), p.url.as_deref().map_or("null".into(), s));
            }
            None => j += "\"page\":null}",
        }
        items.push(j);
    }
    let counted = rows.iter().filter(|r| !r.skipped());
    let total: u32 = counted.clone().filter(|r| r.passed()).map(|r| r.points).sum();
    let max: u32 = counted.map(|r| r.points).sum();
    let next = rows.iter().find(|r| !r.passed() && !r.skipped() && r.what != "hidden").map_or("null".into(), |r| s(&format!("{}/{}", table.labs[r.lab].id, r.what)));
    format!("{{\n\"version\":1,\n\"points\":{total},\n\"max_points\":{max},\n\"next\":{next},\n\"results\":[\n{}\n]\n}}\n", items.join(",\n"))
}
