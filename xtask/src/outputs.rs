//! `listings/<name>/output.txt`: the output a page shows under a listing.
//! Its first line is the command (`$ cargo run -p <name>`), run from the
//! listing's folder; the rest is what that command printed. `regenerate`
//! rewrites the files from real runs, `check` fails when a fresh run no
//! longer matches (after normalising what varies from run to run).

use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A listing that runs longer than this is treated as hung.
const WATCHDOG: Duration = Duration::from_secs(180);

pub struct Listing {
    pub name: String,
    pub dir: PathBuf,
    pub command: String,
    pub expected: String,
}

pub fn listings(root: &Path, only: &[String]) -> Result<Vec<Listing>, String> {
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("listings"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("output.txt").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join("output.txt")).map_err(|e| e.to_string())?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let Some(command) = first.strip_prefix("$ ") else {
            return Err(format!("listings/{name}/output.txt: the first line must be the command, `$ cargo run -p {name}`"));
        };
        found.push(Listing { name, dir, command: command.to_string(), expected: rest.to_string() });
    }
    if let Some(missing) = only.iter().find(|o| !found.iter().any(|l| &&l.name == o)) {
        return Err(format!("no listing named {missing} with an output.txt"));
    }
    Ok(found)
}

/// Runs a listing's command as a reader would (cargo's progress lines
/// silenced), under a watchdog that kills the whole process group.
pub fn run(root: &Path, listing: &Listing) -> Result<String, String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec {} 2>&1", listing.command))
        .current_dir(&listing.dir)
        .env("CARGO_TERM_QUIET", "true")
        .env("CARGO_TERM_COLOR", "never")
        // A reader's default: a panic prints its message, not a backtrace.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    // A listing outside the workspace (one that must not compile) would
    // otherwise make a target/ folder inside listings/.
    if std::fs::read_to_string(listing.dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]")) {
        cmd.env("CARGO_TARGET_DIR", root.join("target/outside-workspace"));
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start `{}`: {e}", listing.command))?;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let start = Instant::now();
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if start.elapsed() > WATCHDOG {
            grade::kill_group(child.id());
            let _ = child.wait();
            return Err(format!("listing {}: `{}` still running after {WATCHDOG:?}; killed (does it wait for input or loop forever?)", listing.name, listing.command));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let bytes = reader.join().unwrap().map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A figure of the book drawn from a listing's `output.txt` by a program of
/// that listing, so that the picture always shows the run the page prints.
struct Figure {
    listing: &'static str,
    bin: &'static str,
    args: &'static [&'static str],
    svg: &'static str,
}

const FIGURES: &[Figure] = &[Figure {
    listing: "switch-03-working-set",
    bin: "working-set-plot",
    // The caches of the machine that made output.txt (lscpu), which the
    // page names; the program would otherwise read the current machine's.
    args: &["--caches", "L1d=32K,L2=1M,L3=32M"],
    svg: "src/switch/working-set.svg",
}];

/// Runs a figure's program on its listing's output.txt; returns the SVG.
fn draw(root: &Path, figure: &Figure) -> Result<String, String> {
    let output = root.join("listings").join(figure.listing).join("output.txt");
    let input = std::fs::File::open(&output).map_err(|e| format!("{}: {e}", output.display()))?;
    let run = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet", "--package", figure.listing, "--bin", figure.bin, "--"])
        .args(figure.args)
        .current_dir(root)
        .stdin(input)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !run.status.success() {
        return Err(format!("drawing {} failed:\n{}", figure.svg, String::from_utf8_lossy(&run.stderr)));
    }
    String::from_utf8(run.stdout).map_err(|e| format!("{}: not UTF-8: {e}", figure.svg))
}

/// Redraws the figures of the given listings (all when `only` is empty).
pub fn redraw(root: &Path, only: &[String]) -> Result<(), String> {
    for figure in FIGURES.iter().filter(|f| only.is_empty() || only.iter().any(|o| o == f.listing)) {
        eprintln!("xtask: drawing {} from listings/{}/output.txt", figure.svg, figure.listing);
        std::fs::write(root.join(figure.svg), draw(root, figure)?).map_err(|e| format!("{}: {e}", figure.svg))?;
    }
    Ok(())
}

pub fn regenerate(root: &Path, only: &[String]) -> Result<(), String> {
    for listing in listings(root, only)? {
        eprintln!("xtask: running {} ({})", listing.name, listing.command);
        let out = run(root, &listing)?;
        std::fs::write(listing.dir.join("output.txt"), format!("$ {}\n{out}", listing.command)).map_err(|e| e.to_string())?;
    }
    redraw(root, only)
}

pub fn check(root: &Path, only: &[String]) -> Result<(), String> {
    let listings = listings(root, only)?;
    let mut failures = Vec::new();
    for listing in &listings {
        eprintln!("xtask: checking the output of {}", listing.name);
        let actual = match run(root, listing) {
            Ok(out) => out,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let rules = Rules::for_listing(&listing.dir)?;
        if let Some(diff) = compare(&rules, &listing.expected, &actual) {
            failures.push(format!(
                "listing {} (shown on {}): its output drifted from output.txt; rerun `cargo xtask outputs {}` if the change is intended\n{diff}",
                listing.name,
                pages_showing(root, &listing.name).join(", "),
                listing.name
            ));
        }
    }
    // The figures of the listings just checked (a scratch book has none).
    let figures: Vec<&Figure> = FIGURES.iter().filter(|f| listings.iter().any(|l| l.name == f.listing)).collect();
    for figure in &figures {
        match draw(root, figure) {
            Ok(svg) if std::fs::read_to_string(root.join(figure.svg)).is_ok_and(|old| old == svg) => {}
            Ok(_) => failures.push(format!(
                "{} is not the plot of listings/{}/output.txt (missing, or drawn from another run); run `cargo xtask figures`",
                figure.svg, figure.listing
            )),
            Err(e) => failures.push(e),
        }
    }
    println!(
        "outputs: {} listings and {} figures checked, {} problem(s)",
        listings.len(),
        figures.len(),
        failures.len()
    );
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n\n")) }
}

/// The pages that include a listing's output, for the error message.
fn pages_showing(root: &Path, name: &str) -> Vec<String> {
    let needle = format!("{name}/output.txt");
    let mut pages: Vec<String> = crate::files_under(&root.join("src"), &["md"])
        .into_iter()
        .filter(|(_, text)| text.contains(&needle))
        .map(|(path, _)| path.strip_prefix(root).unwrap_or(&path).display().to_string())
        .collect();
    if pages.is_empty() {
        pages.push("no page!".into());
    }
    pages
}

/// What varies from run to run, replaced by a placeholder on both sides.
pub struct Rules(Vec<(Regex, &'static str)>);

impl Rules {
    pub fn standard() -> Rules {
        let rules = [
            // Addresses.
            (r"0x[0-9a-fA-F]+", "0x…"),
            // Process and thread ids.
            (r"(?i)\b(pid|ppid|tid|tgid)(\s*[=:]?\s*)\d+", "${1}${2}N"),
            // Measured figures, which listings always print with a unit.
            (r"\d[\d_,]*(?:\.\d+)?(?:e-?\d+)?\s?(?:(?:ns|µs|us|ms|s|KiB|MiB|GiB|kB|KB|MB|GB|B|x)\b|%|/s|×)", "N…"),
            // Scratch files.
            (r"/tmp/[^\s:'\x22]+", "/tmp/…"),
            // The machine's size: a reader's differs from ours.
            (r"\b\d+ (CPUs?|cores?)\b", "N $1"),
            // Column padding, which shifts as the figures' widths change.
            (r"[ \t]{2,}", " "),
        ];
        Rules(rules.iter().map(|(re, to)| (Regex::new(re).unwrap(), *to)).collect())
    }

    /// The standard rules plus the listing's own `normalize.txt` (one regex
    /// a line, each match replaced by `…`).
    pub fn for_listing(dir: &Path) -> Result<Rules, String> {
        let mut rules = Rules::standard();
        if let Ok(extra) = std::fs::read_to_string(dir.join("normalize.txt")) {
            for line in extra.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
                let re = Regex::new(line).map_err(|e| format!("{}/normalize.txt: {e}", dir.display()))?;
                rules.0.push((re, "…"));
            }
        }
        Ok(rules)
    }

    pub fn normalize(&self, text: &str) -> String {
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| {
                let mut line = line.trim_end().to_string();
                for (re, to) in &self.0 {
                    line = re.replace_all(&line, *to).into_owned();
                }
                line
            })
            .collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }
}

/// None when equal after normalisation, else the first differing lines.
pub fn compare(rules: &Rules, expected: &str, actual: &str) -> Option<String> {
    let (e, a) = (rules.normalize(expected), rules.normalize(actual));
    if e == a {
        return None;
    }
    let (el, al): (Vec<&str>, Vec<&str>) = (e.lines().collect(), a.lines().collect());
    let first = el.iter().zip(&al).position(|(x, y)| x != y).unwrap_or(el.len().min(al.len()));
    let show = |lines: &[&str]| lines.iter().skip(first).take(5).map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n");
    Some(format!(
        "  first difference at output line {} (normalised):\n  page shows:\n{}\n  the listing printed:\n{}",
        first + 1,
        show(&el),
        show(&al)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_to_run_noise_is_ignored() {
        let rules = Rules::standard();
        let a = "pid 1234, ppid=1\nstatic at 0x55d0c0ffee00\nfork took 81.5 µs\non 2 CPUs\nspawn   9.5 µs\n";
        let b = "pid 99, ppid=7\nstatic at 0x5600aa000010\nfork took 120 µs\non 16 CPUs\nspawn  10.25 µs";
        assert_eq!(compare(&rules, a, b), None);
    }

    #[test]
    fn a_changed_word_or_line_is_drift() {
        let rules = Rules::standard();
        let page = "child exited with status 0\n";
        assert!(compare(&rules, page, "child killed by SIGSEGV\n").is_some());
        assert!(compare(&rules, page, "child exited with status 0\nextra line\n").is_some());
        // Bare numbers are not noise: a counter that should say 10 must say 10.
        assert!(compare(&rules, "counter = 10\n", "counter = 9\n").is_some());
    }

    #[test]
    fn a_listings_own_rules_apply() {
        let dir = std::env::temp_dir().join(format!("xtask-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("normalize.txt"), "# CPU counts\n\\d+ CPUs?\n").unwrap();
        let rules = Rules::for_listing(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(compare(&rules, "on 2 CPUs\n", "on 8 CPUs\n"), None);
    }
}
