//! What may run: the listing crates of the workspace and the argument sets
//! the pages declare for them. Everything is read once, at start, from the
//! repository; a request can only pick from it, never add to it.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The runner's timeout when a listing declares none.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// The marker a page uses to offer another command for a listing, e.g.
/// `<!-- run: cargo run -p observe-01-named -- --seconds 60 -->`.
pub const PAGE_MARKER: &str = "<!-- run: ";

/// One way to run a listing: the command a reader would type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArgSet {
    pub release: bool,
    pub args: Vec<String>,
    /// `cargo run [--release] -p NAME [-- ARGS]`, as shown on the page.
    pub command: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Listing {
    pub name: String,
    #[serde(skip)]
    pub dir: PathBuf,
    /// The first is the default: the command of `output.txt`.
    pub commands: Vec<ArgSet>,
    pub timeout_secs: u64,
    /// Commands to try on the running process; `{pid}` is replaced.
    pub try_commands: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub listings: BTreeMap<String, Listing>,
    /// Problems found while reading (a marker naming no listing, a command
    /// that cannot be parsed): reported at start and by the tests.
    pub problems: Vec<String>,
}

/// Parses `cargo run [--release] -p NAME [-- ARGS]` (a leading `$ ` allowed).
/// Only plain words: a quote or a shell character means the line is not a
/// command the runner can repeat without a shell, so it is refused.
pub fn parse_command(line: &str) -> Result<(String, ArgSet), String> {
    let line = line.trim().trim_start_matches("$ ").trim();
    if line.chars().any(|c| "'\"`$;&|<>\\(){}*?~".contains(c)) {
        return Err(format!("`{line}` needs a shell (quotes or shell characters); the runner only repeats plain words"));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 2 || words[0] != "cargo" || words[1] != "run" {
        return Err(format!("`{line}` is not a `cargo run` command"));
    }
    let (cargo_part, args) = match words.iter().position(|w| *w == "--") {
        Some(i) => (&words[2..i], &words[i + 1..]),
        None => (&words[2..], &words[words.len()..]),
    };
    let (mut release, mut name) = (false, None);
    let mut it = cargo_part.iter();
    while let Some(w) = it.next() {
        match *w {
            "--release" => release = true,
            "-p" | "--package" => name = it.next().map(|s| s.to_string()),
            other => return Err(format!("`{line}`: cargo option `{other}` is not supported (only --release and -p)")),
        }
    }
    let name = name.ok_or_else(|| format!("`{line}` names no package (-p NAME)"))?;
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    Ok((name, ArgSet { release, command: line.split_whitespace().collect::<Vec<_>>().join(" "), args }))
}

fn read_manifest(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.parse::<toml::Table>().map_err(|e| format!("{}: {e}", path.display()))
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

impl Catalog {
    /// Reads `ROOT/listings/*/Cargo.toml` (skipping crates with a
    /// `[workspace]` of their own: those must not compile), each
    /// `output.txt`'s first line, and the markers in `ROOT/src/**/*.md`.
    pub fn load(root: &Path) -> Catalog {
        let mut catalog = Catalog::default();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("listings")).into_iter().flatten().flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            let manifest = match read_manifest(&dir.join("Cargo.toml")) {
                Ok(m) => m,
                Err(_) => continue, // not a crate (a stray file or folder)
            };
            if manifest.contains_key("workspace") {
                continue; // excluded on purpose: it must not compile
            }
            let Some(package) = manifest.get("package").and_then(|p| p.as_table()) else { continue };
            let Some(name) = package.get("name").and_then(|n| n.as_str()) else { continue };
            let meta = package.get("metadata").and_then(|m| m.get("listing-runner"));
            let timeout_secs = meta.and_then(|m| m.get("timeout-seconds")).and_then(|t| t.as_integer()).map_or(DEFAULT_TIMEOUT_SECS, |t| t.max(1) as u64);
            let try_commands = meta
                .and_then(|m| m.get("try"))
                .and_then(|t| t.as_array())
                .map(|a| a.iter().filter_map(|c| c.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let mut listing = Listing { name: name.to_string(), dir: dir.clone(), commands: Vec::new(), timeout_secs, try_commands };
            if let Ok(text) = std::fs::read_to_string(dir.join("output.txt")) {
                let first = text.lines().next().unwrap_or("");
                match parse_command(first) {
                    Ok((n, set)) if n == name => listing.commands.push(set),
                    Ok((n, _)) => catalog.problems.push(format!("{}/output.txt runs package {n}, not {name}", dir.display())),
                    Err(e) => catalog.problems.push(format!("{}/output.txt: {e}", dir.display())),
                }
            }
            catalog.listings.insert(name.to_string(), listing);
        }
        let mut pages = Vec::new();
        markdown_files(&root.join("src"), &mut pages);
        pages.sort();
        for page in pages {
            let Ok(text) = std::fs::read_to_string(&page) else { continue };
            for (n, line) in text.lines().enumerate() {
                let Some(rest) = line.trim().strip_prefix(PAGE_MARKER) else { continue };
                let place = format!("{}:{}", page.display(), n + 1);
                let Some(command) = rest.strip_suffix("-->") else {
                    catalog.problems.push(format!("{place}: the marker must end with --> on the same line"));
                    continue;
                };
                match parse_command(command) {
                    Ok((name, set)) => match catalog.listings.get_mut(&name) {
                        Some(l) if !l.commands.contains(&set) => l.commands.push(set),
                        Some(_) => {}
                        None => catalog.problems.push(format!("{place}: no runnable listing crate is named {name}")),
                    },
                    Err(e) => catalog.problems.push(format!("{place}: {e}")),
                }
            }
        }
        catalog.listings.retain(|_, l| !l.commands.is_empty());
        catalog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_txt_commands_are_parsed() {
        let (name, set) = parse_command("$ cargo run --release -p switch-03-working-set").unwrap();
        assert_eq!((name.as_str(), set.release, set.args.len()), ("switch-03-working-set", true, 0));
        let (name, set) = parse_command("$ cargo run -p observe-01-named -- --seconds 60").unwrap();
        assert_eq!(name, "observe-01-named");
        assert_eq!(set.args, ["--seconds", "60"]);
        assert_eq!(set.command, "cargo run -p observe-01-named -- --seconds 60");
    }

    #[test]
    fn shell_syntax_and_other_programs_are_refused() {
        assert!(parse_command("$ cargo run -p a -- $(rm -rf /)").is_err());
        assert!(parse_command("$ cargo run -p a -- x > out.txt").is_err());
        assert!(parse_command("$ cargo build").is_err());
        assert!(parse_command("$ sh -c ls").is_err());
        assert!(parse_command("$ cargo run --manifest-path /etc/x -p a").is_err());
    }

    /// The course itself: every listing with an output.txt is runnable, the
    /// excluded one is not, and every page marker names a real listing.
    #[test]
    fn the_course_catalog_reads_clean() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let catalog = Catalog::load(root);
        assert!(catalog.problems.is_empty(), "problems in the listings or the pages' run markers (see CONTRIBUTING.md, Listings): {:#?}", catalog.problems);
        assert!(catalog.listings.contains_key("process-02-fork-exec"));
        assert!(!catalog.listings.contains_key("thread-06-race-refused"), "a listing that must not compile cannot be run");
        assert!(catalog.listings["switch-03-working-set"].commands[0].release);
    }
}
