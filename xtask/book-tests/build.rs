//! Turns the book's pages into tests.
//!
//! 1. Checks every `{{#include}}` / `{{#rustdoc_include}}` of every page: the
//!    file exists and the anchor is there (mdBook itself only logs these).
//! 2. Expands the includes with mdBook's own `LinkPreprocessor`, so the code
//!    tested is byte for byte the code a reader sees (hidden lines included).
//! 3. Checks every fenced block: it names a language; Rust blocks that need
//!    crates the playground lacks are `noplayground`; `compile_fail` blocks
//!    name the error code they expect.
//! 4. Hands the expanded pages to skeptic (compile and run every Rust block)
//!    and writes one compile-fail test per `compile_fail` block.
//!
//! Any problem panics with the page and line, which fails `cargo test`.

use mdbook_driver::book::BookItem;
use mdbook_driver::builtin_preprocessors::LinkPreprocessor;
use mdbook_driver::MDBook;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Crates a playground block cannot use (play.rust-lang.org offers the top
/// crates.io crates, including crossbeam and tokio, but not these).
const NOT_ON_PLAYGROUND: &[&str] = &["nix::", "libc::", "criterion", "solutions::", "exercises::"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    // BOOK_ROOT points the tests at another book: `cargo xtask test` uses it
    // to prove that broken scratch books are rejected.
    println!("cargo:rerun-if-env-changed=BOOK_ROOT");
    let root = std::env::var_os("BOOK_ROOT").map(PathBuf::from).unwrap_or_else(|| manifest.join("../..")).canonicalize().unwrap();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for watched in ["src", "listings", "exercises/src", "solutions/src", "solutions/fast", "book.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let mut problems = Vec::new();
    check_includes(&root.join("src"), &mut problems);

    let book = MDBook::load(&root).expect("cannot load the book (book.toml, src/SUMMARY.md)");
    let ctx = PreprocessorContext::new(root.clone(), book.config.clone(), "html".into());
    let expanded = LinkPreprocessor::new()
        .run(&ctx, book.book.clone())
        .expect("mdBook's include expansion failed");

    let pages_dir = out.join("pages");
    let _ = fs::remove_dir_all(&pages_dir);
    fs::create_dir_all(&pages_dir).unwrap();
    let mut pages = Vec::new();
    let mut compile_fail = Vec::new();
    for item in expanded.iter() {
        let BookItem::Chapter(chapter) = item else { continue };
        let Some(path) = &chapter.path else { continue }; // draft chapter
        let page = Path::new("src").join(path).display().to_string();
        let text = prepare_page(&page, &chapter.content, &mut compile_fail, &mut problems);
        // Flatten `thread/README.md` to `thread__README.md`: skeptic names
        // tests after the file name, and two README.md pages would collide.
        let flat = path.display().to_string().replace(['/', '\\'], "__");
        let file = pages_dir.join(flat);
        fs::write(&file, text).unwrap();
        pages.push(file);
    }

    if !problems.is_empty() {
        panic!("\n\nThe book's pages have problems:\n  {}\n", problems.join("\n  "));
    }
    pages.sort();
    skeptic::generate_doc_tests(&pages);
    write_compile_fail_tests(&out, &compile_fail);
}

/// Every include names a file that exists and, if it names an anchor, an
/// anchor that the file defines. Line ranges are left to mdBook.
fn check_includes(dir: &Path, problems: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            check_includes(&path, problems);
            continue;
        }
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("{{#") {
                let Some(end) = rest[start..].find("}}") else { break };
                let directive = &rest[start + 3..start + end];
                rest = &rest[start + end + 2..];
                let mut words = directive.split_whitespace();
                let (Some(kind), Some(target)) = (words.next(), words.next()) else { continue };
                if !matches!(kind, "include" | "rustdoc_include") {
                    continue;
                }
                let where_ = format!("{}:{}", path.display(), n + 1);
                let (file, anchor) = match target.split_once(':') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (target, None),
                };
                let included = path.parent().unwrap().join(file);
                let Ok(content) = fs::read_to_string(&included) else {
                    problems.push(format!("{where_}: {{{{#{kind} {target}}}}}: no file {}", included.display()));
                    continue;
                };
                let is_anchor = anchor.is_some_and(|a| !a.is_empty() && !a.starts_with(|c: char| c.is_ascii_digit()));
                if let (true, Some(anchor)) = (is_anchor, anchor) {
                    let start = format!("ANCHOR: {anchor}");
                    let end = format!("ANCHOR_END: {anchor}");
                    let has = |marker: &str| content.lines().any(|l| l.trim_end().ends_with(marker));
                    if !has(&start) || !has(&end) {
                        problems.push(format!("{where_}: {file} has no `// {start}` … `// {end}` pair"));
                    }
                }
            }
        }
    }
}

struct CompileFail {
    name: String,
    page: String,
    line: usize,
    code: String,
    source: String,
}

/// Checks the fences of one expanded page and rewrites it for skeptic:
/// `compile_fail` blocks are taken out (tested separately), blocks without
/// `fn main` are wrapped in one, as rustdoc and the playground do.
fn prepare_page(page: &str, text: &str, compile_fail: &mut Vec<CompileFail>, problems: &mut Vec<String>) -> String {
    if let Some(n) = text.lines().position(|l| l.contains("{{#include") || l.contains("{{#rustdoc_include")) {
        problems.push(format!("{page}: an include was not expanded (expanded line {})", n + 1));
    }
    let mut result = String::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim_start();
        let fence: String = trimmed.chars().take_while(|&c| c == '`' || c == '~').collect();
        if fence.len() < 3 || !fence.chars().all(|c| c == fence.chars().next().unwrap()) {
            result.push_str(line);
            result.push('\n');
            continue;
        }
        let info = trimmed[fence.len()..].trim().to_string();
        let mut body = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with(&fence) && l.trim().trim_start_matches(fence.chars().next().unwrap()).is_empty() {
                break;
            }
            body.push(l);
        }
        let where_ = format!("{page} (expanded line {})", n + 1);
        let tokens: Vec<&str> = info.split(|c: char| !(c == '_' || c == '-' || c.is_alphanumeric())).filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            problems.push(format!("{where_}: a fenced block needs a language (rust, text, console, toml, …)"));
        }
        let is_rust = tokens.first() == Some(&"rust");
        if !is_rust {
            result.push_str(&format!("{fence}{info}\n{}\n{fence}\n", body.join("\n")));
            continue;
        }
        let code: String = body.iter().map(|l| unhide(l)).collect::<Vec<_>>().join("\n");
        if !tokens.contains(&"noplayground") && !tokens.contains(&"ignore") {
            if let Some(krate) = NOT_ON_PLAYGROUND.iter().find(|k| mentions(&code, k)) {
                problems.push(format!("{where_}: uses `{krate}`, which the Rust playground lacks: fence it `rust,noplayground` and give the `cargo run -p` command"));
            }
        }
        if tokens.contains(&"compile_fail") {
            match tokens.iter().find(|t| t.len() == 5 && t.starts_with('E') && t[1..].chars().all(|c| c.is_ascii_digit())) {
                Some(code_id) => compile_fail.push(CompileFail {
                    name: format!("{}_line_{}", page.trim_end_matches(".md").replace(|c: char| !c.is_alphanumeric(), "_"), n + 1),
                    page: page.to_string(),
                    line: n + 1,
                    code: code_id.to_string(),
                    source: wrap_main(&code),
                }),
                None => problems.push(format!("{where_}: a compile_fail block must name the error it expects, e.g. `rust,compile_fail,E0373`")),
            }
            // Out of skeptic's sight: it would try to build and run it.
            result.push_str(&format!("{fence}text\n{fence}\n"));
            continue;
        }
        let body = if code.contains("fn main") {
            body.join("\n")
        } else {
            format!("# fn main() {{\n{}\n# }}", body.join("\n"))
        };
        result.push_str(&format!("{fence}{info}\n{body}\n{fence}\n"));
    }
    result
}

/// `name` appears as a path of its own: `nix::` but not `std::os::unix::`.
fn mentions(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(i, _)| {
        !code[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// A line as the compiler sees it (rustdoc's hidden-line rule).
fn unhide(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix("# ") {
        rest
    } else if t == "#" {
        ""
    } else {
        line
    }
}

fn wrap_main(code: &str) -> String {
    if code.contains("fn main") {
        code.to_string()
    } else {
        format!("fn main() {{\n{code}\n}}\n")
    }
}

fn write_compile_fail_tests(out: &Path, blocks: &[CompileFail]) {
    let mut s = String::new();
    for b in blocks {
        writeln!(
            s,
            "#[test]\nfn compile_fail_{}() {{\n    book_tests::expect_compile_error({:?}, {}, {:?}, {:?});\n}}",
            b.name, b.page, b.line, b.code, b.source
        )
        .unwrap();
    }
    fs::write(out.join("compile-fail-tests.rs"), s).unwrap();
}
