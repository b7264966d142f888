//! Building and serving the book with the pinned tools.

use std::io::Read;
use std::path::Path;
use std::process::Command;

/// The one switch that leaves the solutions out of the site.
pub const NO_SOLUTIONS: &str = "--no-solutions";

fn mdbook(root: &Path, no_solutions: bool) -> Result<Command, String> {
    let path = crate::tools::ensure()?;
    // The site serves the starter bundle: write it before mdBook copies src/.
    if root.join("exercises/Cargo.toml").exists() {
        crate::bundle::write(root)?;
    }
    let mut cmd = Command::new("mdbook");
    cmd.current_dir(root).env("PATH", path);
    // book.toml runs the quiz-text preprocessor through `cargo run`, for a
    // plain `mdbook serve`; here the xtask already built is quicker.
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let quiz_text = serde_json::json!({ "command": format!("{} quiz-text", me.display()), "after": ["quiz"] });
    cmd.env("MDBOOK_PREPROCESSOR__QUIZ_TEXT", quiz_text.to_string());
    if no_solutions {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let table = serde_json::json!({
            "command": format!("{} hide-solutions", me.display()),
            "before": ["links"],
        });
        cmd.env("MDBOOK_PREPROCESSOR__HIDE_SOLUTIONS", table.to_string());
    }
    Ok(cmd)
}

/// `mdbook build`, failing on any warning: mdBook, mdbook-katex (bad LaTeX
/// only warns) and mdbook-quiz all report problems as log lines and exit 0.
pub fn build(root: &Path, args: &[String]) -> Result<(), String> {
    build_with(root, args, &[])
}

/// `build` with extra environment for mdBook (the runner's script).
pub fn build_with(root: &Path, args: &[String], env: &[(&str, String)]) -> Result<(), String> {
    let no_solutions = args.iter().any(|a| a == NO_SOLUTIONS);
    let rest: Vec<&String> = args.iter().filter(|a| *a != NO_SOLUTIONS).collect();
    let mut cmd = mdbook(root, no_solutions)?;
    cmd.arg("build").args(&rest).envs(env.iter().map(|(k, v)| (*k, v)));
    let output = cmd.output().map_err(|e| format!("cannot run mdbook: {e}"))?;
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let log = strip_colours(&log);
    eprint!("{log}");
    let warnings: Vec<String> = log.lines().filter(|l| is_warning(l)).map(|l| locate_formula(root, l)).collect();
    if !output.status.success() {
        return Err("mdbook build failed".into());
    }
    if !warnings.is_empty() {
        return Err(format!("mdbook build printed {} warning(s); the book must build clean:\n{}", warnings.len(), warnings.join("\n")));
    }
    if no_solutions {
        // mdBook also copies the pages' Markdown sources into the site.
        let dest = rest.iter().position(|a| *a == "-d" || *a == "--dest-dir").and_then(|i| rest.get(i + 1));
        let dest = dest.map_or_else(|| root.join("book"), |d| root.join(d.as_str()));
        let _ = std::fs::remove_dir_all(dest.join("solutions"));
        eprintln!("xtask: built without the solutions");
    }
    Ok(())
}

fn strip_colours(log: &str) -> String {
    regex::Regex::new("\x1b\\[[0-9;]*m").unwrap().replace_all(log, "").into_owned()
}

/// The one warning we accept: mdbook-katex 0.10.0 was built against mdbook
/// 0.5.3 and says so under 0.5.4; the two are checked to work together.
const KNOWN_BENIGN: &str = "mdbook-katex was built against mdbook v0.5.3, but we are being called from mdbook v0.5.4";

/// mdbook-katex names the formula it could not render but not the page:
/// find the page and line so the author need not search.
fn locate_formula(root: &Path, line: &str) -> String {
    let Some(formula) = line.split("item=\"").nth(1).and_then(|r| r.split("\"}").next()) else {
        return line.to_string();
    };
    let formula = formula.replace("\\\\", "\\");
    let mut places = Vec::new();
    for (path, text) in crate::files_under(&root.join("src"), &["md"]) {
        for (n, _) in text.lines().enumerate().filter(|(_, l)| l.contains(&formula)) {
            places.push(format!("{}:{}", path.strip_prefix(root).unwrap_or(&path).display(), n + 1));
        }
    }
    format!("{} (bad formula at {})", line, if places.is_empty() { "an unknown place".into() } else { places.join(", ") })
}

fn is_warning(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    (l.contains("warn") || l.contains("error")) && !line.contains(KNOWN_BENIGN)
}

/// Every internal link and anchor resolves (mdbook-linkcheck2, offline).
/// `--external` also lists and follows the web links, which needs a network.
pub fn links(root: &Path, args: &[String]) -> Result<(), String> {
    let external = args.iter().any(|a| a == "--external");
    let table = serde_json::json!({ "follow-web-links": external });
    let out = mdbook(root, false)?
        .arg("build")
        .arg("-d")
        .arg(root.join("target/linkcheck"))
        .env("MDBOOK_OUTPUT__LINKCHECK2", table.to_string())
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(|e| format!("cannot run mdbook: {e}"))?;
    if external {
        let links = regex::Regex::new(r"https?://[^\s)>\]`\x22']+").unwrap();
        let mut found: Vec<String> = crate::files_under(&root.join("src"), &["md"])
            .iter()
            .flat_map(|(_, text)| links.find_iter(text).map(|m| m.as_str().to_string()).collect::<Vec<_>>())
            .collect();
        found.sort();
        found.dedup();
        println!("{} external links (followed by mdbook-linkcheck2):\n  {}", found.len(), found.join("\n  "));
    }
    if out.status.success() {
        println!("links: every internal link and anchor resolves");
        return Ok(());
    }
    let log = strip_colours(&String::from_utf8_lossy(&out.stderr));
    let report: Vec<&str> = log.lines().filter(|l| !l.contains(" INFO ") && !l.contains(KNOWN_BENIGN)).collect();
    Err(format!("broken links:\n{}", report.join("\n")))
}

/// `mdbook serve`, with the listing runner beside it: the runner learns the
/// book's origin, and the book gets the runner's address and token through
/// a script only this serve adds (`additional-js`), so neither the
/// published site nor a plain `mdbook serve` carries it.
pub fn serve(root: &Path, args: &[String]) -> Result<(), String> {
    let no_solutions = args.iter().any(|a| a == NO_SOLUTIONS);
    let rest: Vec<&String> = args.iter().filter(|a| *a != NO_SOLUTIONS).collect();
    let value = |short: &str, long: &str| {
        rest.iter().position(|a| *a == short || *a == long).and_then(|i| rest.get(i + 1)).map(|v| v.to_string())
    };
    let port: u16 = value("-p", "--port").map_or(Ok(3000), |p| p.parse()).map_err(|e| format!("--port: {e}"))?;
    let host = value("-n", "--hostname").unwrap_or_else(|| "localhost".into());
    let origins = match host.as_str() {
        "localhost" | "127.0.0.1" => vec![format!("http://localhost:{port}"), format!("http://127.0.0.1:{port}")],
        other => vec![format!("http://{other}:{port}")],
    };
    let mut cmd = mdbook(root, no_solutions)?;
    let runner = match Runner::start(root, &origins, "target/listing-runner/serve-config.js") {
        Ok(runner) => {
            cmd.env("MDBOOK_OUTPUT__HTML__ADDITIONAL_JS", runner.additional_js());
            Some(runner)
        }
        Err(e) => {
            eprintln!("xtask: the listing runner did not start ({e}); serving without Run buttons");
            None
        }
    };
    let status = cmd.arg("serve").args(rest).status().map_err(|e| format!("cannot run mdbook: {e}"));
    drop(runner);
    status?.success().then_some(()).ok_or_else(|| "mdbook serve failed".into())
}

/// A running `listing-runner`, stopped (SIGTERM: it kills its runs) on drop.
pub struct Runner {
    child: std::process::Child,
    config: String,
}

impl Runner {
    /// Builds and starts the runner for a book served at `origins`; it
    /// writes `config` (relative to the root) before this returns.
    pub fn start(root: &Path, origins: &[String], config: &str) -> Result<Runner, String> {
        let exe = build_runner(root)?;
        let path = root.join(config);
        let _ = std::fs::remove_file(&path);
        let mut cmd = Command::new(exe);
        cmd.arg("--root").arg(root).arg("--config-js").arg(&path).args(["--parent", &std::process::id().to_string()]);
        for origin in origins {
            cmd.args(["--origin", origin]);
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start listing-runner: {e}"))?;
        let mut runner = Runner { child, config: config.to_string() };
        let start = std::time::Instant::now();
        while !std::fs::read_to_string(&path).is_ok_and(|t| t.ends_with(";\n")) {
            if let Ok(Some(status)) = runner.child.try_wait() {
                return Err(format!("listing-runner exited at start ({status})"));
            }
            if start.elapsed() > std::time::Duration::from_secs(30) {
                return Err(format!("listing-runner did not write {} within 30 s", path.display()));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(runner)
    }

    /// The value of `MDBOOK_OUTPUT__HTML__ADDITIONAL_JS` that loads the script.
    pub fn additional_js(&self) -> String {
        serde_json::json!([self.config]).to_string()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-s", "TERM", &self.child.id().to_string()]).status();
        let start = std::time::Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) && start.elapsed() < std::time::Duration::from_secs(15) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cargo build -p listing-runner`; the executable cargo reports.
fn build_runner(root: &Path) -> Result<std::path::PathBuf, String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "-p", "listing-runner", "--bin", "listing-runner", "--message-format=json-render-diagnostics"])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err("`cargo build -p listing-runner` failed".into());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "listing-runner")
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .ok_or_else(|| "cargo reported no listing-runner executable".into())
}

/// An mdBook preprocessor (the protocol: `supports <renderer>`, then the
/// `[context, book]` JSON on stdin, the book on stdout) that drops the
/// "Solutions" part and every page under `src/solutions/`.
pub fn hide_solutions(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("supports") {
        return Ok(());
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| e.to_string())?;
    let mut pair: serde_json::Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
    let mut book = pair[1].take();
    drop_solutions(&mut book);
    println!("{book}");
    Ok(())
}

fn drop_solutions(book: &mut serde_json::Value) {
    if let Some(items) = book["items"].as_array_mut() {
        items.retain(|item| !is_solution(item));
    }
    for_each_chapter(book, &mut |chapter| {
        if let Some(content) = chapter["content"].as_str() {
            chapter["content"] = instructors_only(content).into();
        }
    });
}

/// A page's passages between these markers (on the instructors' page: the
/// hidden tests) are left out with the solutions.
const INSTRUCTORS_ONLY: (&str, &str) = ("<!-- instructors-only -->", "<!-- /instructors-only -->");

fn instructors_only(content: &str) -> String {
    let mut out = String::new();
    let mut rest = content;
    while let Some((before, after)) = rest.split_once(INSTRUCTORS_ONLY.0) {
        out += before;
        rest = after.split_once(INSTRUCTORS_ONLY.1).map_or("", |(_, r)| r);
    }
    out + rest
}

/// Calls `f` on every chapter of the book JSON, sub-chapters included.
fn for_each_chapter(book: &mut serde_json::Value, f: &mut dyn FnMut(&mut serde_json::Value)) {
    fn walk(items: &mut serde_json::Value, f: &mut dyn FnMut(&mut serde_json::Value)) {
        for item in items.as_array_mut().into_iter().flatten() {
            if let Some(chapter) = item.get_mut("Chapter") {
                f(chapter);
                walk(&mut chapter["sub_items"], f);
            }
        }
    }
    walk(&mut book["items"], f);
}

/// An mdBook preprocessor run after mdbook-quiz. Its quizzes are empty
/// placeholders that JavaScript fills in, so the print page, the search
/// index and a reader without JavaScript see nothing of them; this adds
/// each quiz's questions as text after it (hidden on screen, shown when
/// printed, never with the answers), and fills the "Your progress" page's
/// table with every quiz found in the book.
pub fn quiz_text(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("supports") {
        return Ok(());
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| e.to_string())?;
    let mut pair: serde_json::Value = serde_json::from_str(&input).map_err(|e| e.to_string())?;
    let mut book = pair[1].take();
    add_quiz_text(&mut book)?;
    println!("{book}");
    Ok(())
}

/// What the progress page lists of one quiz.
struct QuizEntry {
    name: String,
    page: String,
    title: String,
    questions: usize,
}

fn add_quiz_text(book: &mut serde_json::Value) -> Result<(), String> {
    let placeholder = regex::Regex::new(r#"<div class="quiz-placeholder" data-quiz-name="([^"]*)" data-quiz-questions="([^"]*)"[^>]*></div>"#).unwrap();
    let mut quizzes = Vec::new();
    let mut error = None;
    for_each_chapter(book, &mut |chapter| {
        let (Some(content), Some(path)) = (chapter["content"].as_str(), chapter["path"].as_str()) else { return };
        let mut out = String::new();
        let mut last = 0;
        for caps in placeholder.captures_iter(content) {
            let whole = caps.get(0).unwrap();
            let parsed = serde_json::from_str::<String>(&unescape(&caps[1]))
                .and_then(|name| serde_json::from_str::<serde_json::Value>(&unescape(&caps[2])).map(|q| (name, q)));
            let Ok((name, quiz)) = parsed else {
                error = Some(format!("{path}: a quiz placeholder whose data is not JSON"));
                return;
            };
            let prompts: Vec<String> = quiz["questions"]
                .as_array()
                .into_iter()
                .flatten()
                // Markdown's code marks would show as backticks in plain text.
                .map(|q| q["prompt"]["prompt"].as_str().unwrap_or("").replace('`', "").split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            let items: String = prompts.iter().map(|p| format!("<li>{}</li>", escape(p))).collect();
            out += &content[last..whole.end()];
            out += &format!(
                "<div class=\"quiz-text\" id=\"quiz-{name}\" aria-hidden=\"true\"><p>Quiz ({} questions; answer them on the web page):</p><ol>{items}</ol></div>",
                prompts.len()
            );
            last = whole.end();
            // "What is a process? › Isolation and talking across it"
            let mut names: Vec<&str> = chapter["parent_names"].as_array().into_iter().flatten().filter_map(|n| n.as_str()).collect();
            names.push(chapter["name"].as_str().unwrap_or(path));
            let title = names.join(" › ");
            quizzes.push(QuizEntry { name, page: path.replace(".md", ".html"), title, questions: prompts.len() });
        }
        if last > 0 {
            out += &content[last..];
            chapter["content"] = out.into();
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    let rows: String = quizzes
        .iter()
        .map(|q| {
            format!(
                "<tr data-quiz=\"{name}\" data-questions=\"{n}\"><td><a href=\"{page}#quiz-{name}\">{title}</a></td><td class=\"quiz-status\">not answered</td><td class=\"quiz-score\">–</td><td><button type=\"button\" class=\"quiz-reset\">Reset</button></td></tr>",
                name = q.name,
                n = q.questions,
                page = q.page,
                title = escape(&q.title),
            )
        })
        .collect();
    let table = format!(
        "<table id=\"quiz-progress\"><thead><tr><th>Quiz</th><th>Status</th><th>Score</th><th></th></tr></thead><tbody>{rows}</tbody></table>\n<p><button type=\"button\" id=\"quiz-reset-all\">Reset every quiz</button></p>"
    );
    for_each_chapter(book, &mut |chapter| {
        if let Some(content) = chapter["content"].as_str() {
            if content.contains(PROGRESS_MARKER) {
                chapter["content"] = content.replace(PROGRESS_MARKER, &table).into();
            }
        }
    });
    Ok(())
}

/// Where the progress page's table goes (src/progress.md).
const PROGRESS_MARKER: &str = "<div id=\"quiz-progress-table\"></div>";

fn unescape(attr: &str) -> String {
    attr.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#x27;", "'").replace("&#39;", "'").replace("&amp;", "&")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn is_solution(item: &serde_json::Value) -> bool {
    if item["PartTitle"].as_str() == Some("Solutions") {
        return true;
    }
    item["Chapter"]["path"].as_str().is_some_and(|p| p.starts_with("solutions/"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hides_the_solutions_part_and_pages() {
        let mut book = serde_json::json!({"items": [
            {"Chapter": {"name": "Lab 2", "path": "lab2/README.md", "sub_items": []}},
            {"PartTitle": "Solutions"},
            {"Chapter": {"name": "Lab 2 solution", "path": "solutions/lab2.md", "sub_items": []}},
        ]});
        super::drop_solutions(&mut book);
        let items = book["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "only the lab page should remain: {items:?}");
        assert_eq!(items[0]["Chapter"]["path"], "lab2/README.md");
    }

    #[test]
    fn instructors_only_passages_are_dropped() {
        let page = "keep\n<!-- instructors-only -->\nsecret\n<!-- /instructors-only -->\nalso kept\n";
        assert_eq!(super::instructors_only(page), "keep\n\nalso kept\n");
    }

    #[test]
    fn quizzes_get_their_questions_as_text_and_a_progress_row() {
        let quiz = serde_json::json!({"questions": [{"type": "ShortAnswer", "prompt": {"prompt": "Why <this>\n  and that?"}, "answer": {"answer": "SECRET"}}]});
        let attr = super::escape(&quiz.to_string());
        let placeholder = format!("<div class=\"quiz-placeholder\" data-quiz-name=\"&quot;pool&quot;\" data-quiz-questions=\"{attr}\" data-quiz-cache-answers=\"true\"></div>");
        let mut book = serde_json::json!({"items": [
            {"Chapter": {"name": "Progress", "path": "progress.md", "content": super::PROGRESS_MARKER, "sub_items": []}},
            {"Chapter": {"name": "Pools", "path": "pool/pattern.md", "content": "", "sub_items": [
                {"Chapter": {"name": "Sizing", "path": "pool/sizing.md", "content": format!("text\n{placeholder}\nmore"), "sub_items": []}}]}},
        ]});
        super::add_quiz_text(&mut book).unwrap();
        let sizing = book["items"][1]["Chapter"]["sub_items"][0]["Chapter"]["content"].as_str().unwrap();
        assert!(sizing.contains("<li>Why &lt;this&gt; and that?</li>"), "{sizing}");
        let text = sizing.split("quiz-text").nth(1).unwrap();
        assert!(!text.contains("SECRET"), "the answer leaked: {sizing}");
        let progress = book["items"][0]["Chapter"]["content"].as_str().unwrap();
        assert!(progress.contains("<tr data-quiz=\"pool\" data-questions=\"1\"><td><a href=\"pool/sizing.html#quiz-pool\">Sizing</a>"), "{progress}");
    }

    #[test]
    fn a_bad_formula_is_traced_to_its_page_and_line() {
        let root = std::env::temp_dir().join(format!("xtask-katex-{}", std::process::id()));
        std::fs::create_dir_all(root.join("src/ctx")).unwrap();
        std::fs::write(root.join("src/ctx/cost.md"), "# Cost\n\nIt is $\\frac{1}{$ here.\n").unwrap();
        // What mdbook-katex 0.10.0 prints, colours stripped.
        let warning = r#"WARN render{item="\\frac{1}{"}: mdbook_katex::render: Rendering failed"#;
        let located = super::locate_formula(&root, warning);
        std::fs::remove_dir_all(&root).unwrap();
        assert!(located.contains("src/ctx/cost.md:3"), "{located}");
    }

    #[test]
    fn warnings_from_every_tool_are_caught() {
        assert!(super::is_warning(" WARN mdbook_html: broken link"));
        assert!(super::is_warning("2026-01-01 ERROR quiz: parse failure"));
        assert!(!super::is_warning(" INFO Book building has started"));
        assert!(!super::is_warning(&format!(" WARN mdbook_katex: This {}. If you have any issue", super::KNOWN_BENIGN)));
    }
}
