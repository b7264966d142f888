//! The browser suite (`xtask/browser-tests/site.test.mjs`): the built site
//! opened page by page in headless Chromium, driven by playwright-core;
//! then `progress.test.mjs`: quiz progress, reset, and the quizzes' text.

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
    if !status.success() {
        return Err(format!("the browser suite found problems (screenshots in {})", shots.display()));
    }
    // Quiz progress and the quizzes' text: a second script, one browser
    // context throughout (answers are kept between its pages).
    let status = Command::new("node")
        .arg(tests.join("progress.test.mjs"))
        .arg(&site)
        .arg(root)
        .arg(&shots)
        .env("CHROMIUM", chromium)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("the progress page's browser test found problems (screenshots in {})", shots.display()))
}
