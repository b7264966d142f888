//! The browser suite (`xtask/browser-tests/`): the built site opened page by
//! page in headless Chromium, driven by playwright-core (`site.test.mjs`);
//! then `progress.test.mjs`: quiz progress, reset, and the quizzes' text;
//! then the Run buttons against a real listing runner (`runner.test.mjs`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn found(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success())
}

/// Debian's Chromium (playwright's own browser download is not needed, and
/// not possible offline). Installed with apt when we are root and it is missing.
fn chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    for name in ["chromium", "chromium-browser"] {
        if found(name) {
            let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().unwrap();
            return Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if found("apt-get") && is_root {
        eprintln!("xtask: installing Chromium with apt-get");
        let ok = Command::new("sh")
            .arg("-c")
            .arg("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null")
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return chromium();
        }
    }
    Err("the browser tests need Chromium: `sudo apt-get install chromium` (or set CHROMIUM=/path/to/chrome)".into())
}

pub fn check(root: &Path) -> Result<(), String> {
    let chromium = chromium()?;
    if !found("node") || !found("npm") {
        return Err("the browser tests need Node.js 18+ and npm (`sudo apt-get install nodejs npm`)".into());
    }
    let tests = root.join("xtask/browser-tests");
    if !tests.join("node_modules/playwright-core").is_dir() {
        let ok = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--silent"]).current_dir(&tests).status().is_ok_and(|s| s.success());
        if !ok {
            return Err("`npm ci` in xtask/browser-tests failed".into());
        }
    }
    let site = root.join("target/browser-site");
    crate::book::build(root, &["-d".into(), site.display().to_string()])?;
    let shots = root.join("target/browser-tests");
    let status = Command::new("node")
        .arg(tests.join("site.test.mjs"))
        .arg(&site)
        .arg(root)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let pages = status.success().then_some(()).ok_or_else(|| format!("the browser suite found problems (screenshots in {})", shots.display()));
    // Quiz progress and the quizzes' text: a second script, one browser
    // context throughout (answers are kept between its pages).
    let status = Command::new("node")
        .arg(tests.join("progress.test.mjs"))
        .arg(&site)
        .arg(root)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let progress = status.success().then_some(()).ok_or_else(|| format!("the progress page's browser test found problems (screenshots in {})", shots.display()));
    let runner = run_buttons(root, &tests, &chromium, &site, &shots);
    let problems: Vec<String> = [pages, progress, runner].into_iter().filter_map(Result::err).collect();
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// The listings `runner.test.mjs` clicks, built first so that a click
/// times a run rather than a cold build.
const CLICKED: [&str; 4] = ["process-02-fork-exec", "thread-02-spawn-join", "tasks-01-spawn-many", "observe-01-named"];

/// The site built as `cargo xtask serve` serves it (with the runner's
/// script), a runner for it, and the clicks; `published` is the site
/// without a runner, where the command and its copy button must show.
fn run_buttons(root: &Path, tests: &Path, chromium: &Path, published: &Path, shots: &Path) -> Result<(), String> {
    let mut build = vec!["build"];
    for name in CLICKED {
        build.extend(["-p", name]);
    }
    crate::cargo(root, &build)?;
    // A free port for the page server; the runner must know the origin first.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let runner = crate::book::Runner::start(root, &[format!("http://127.0.0.1:{port}")], "target/listing-runner/browser-config.js")?;
    let site = root.join("target/browser-site-runner");
    crate::book::build_with(root, &["-d".into(), site.display().to_string()], &[("MDBOOK_OUTPUT__HTML__ADDITIONAL_JS", runner.additional_js())])?;
    let status = Command::new("node")
        .arg(tests.join("runner.test.mjs"))
        .arg(&site)
        .arg(published)
        .arg(port.to_string())
        .arg(shots)
        .env("CHROMIUM", &chromium)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    drop(runner);
    status.success().then_some(()).ok_or_else(|| format!("the Run buttons did not work as a reader needs (screenshots in {})", shots.display()))
}
