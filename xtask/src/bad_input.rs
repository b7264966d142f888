//! Proof that the checks catch what they claim to: each case writes a small
//! scratch book with one defect and expects the matching check to fail with
//! a message naming the page (and line).

use std::path::Path;
use std::process::Command;

/// The page's text starts with these four lines, so the defect is on line 5.
const PAGE_HEAD: &str = "# Broken\n\nA page with one defect.\n\n";

const LISTING: &str = "// ANCHOR: here\nfn main() {\n    println!(\"hello\");\n}\n// ANCHOR_END: here\n";

enum Check {
    PageTests,
    BookBuild,
    Outputs,
}

struct Case {
    name: &'static str,
    defect: &'static str,
    check: Check,
    expect: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "an include of a missing file",
        defect: "```rust\n{{#rustdoc_include ../listings/demo/src/gone.rs}}\n```\n",
        check: Check::PageTests,
        expect: &["src/broken.md:6", "no file"],
    },
    Case {
        name: "an include of a missing anchor",
        defect: "```rust\n{{#rustdoc_include ../listings/demo/src/main.rs:gone}}\n```\n",
        check: Check::PageTests,
        expect: &["src/broken.md:6", "ANCHOR: gone"],
    },
    Case {
        name: "a Rust block that does not compile",
        defect: "```rust\nfn main() { let n: u32 = \"seven\"; }\n```\n",
        check: Check::PageTests,
        expect: &["broken_sect_broken_line_5", "FAILED"],
    },
    Case {
        name: "a compile_fail block that compiles",
        defect: "```rust,compile_fail,E0308\nfn main() { let n: u32 = 7; }\n```\n",
        check: Check::PageTests,
        expect: &["src/broken.md, block at expanded line 5", "marked compile_fail but it compiles"],
    },
    Case {
        name: "a nix block that offers a playground Run button",
        defect: "```rust\nfn main() { let _ = nix::unistd::getpid(); }\n```\n",
        check: Check::PageTests,
        expect: &["src/broken.md (expanded line 5)", "noplayground"],
    },
    Case {
        name: "a bad formula",
        defect: "It costs $$\\frac{1}{$$ per switch.\n",
        check: Check::BookBuild,
        expect: &["src/broken.md:5"],
    },
    Case {
        name: "a listing whose output drifted",
        defect: "```text\n{{#include ../listings/demo/output.txt}}\n```\n",
        check: Check::Outputs,
        expect: &["listing demo (shown on src/broken.md)", "goodbye"],
    },
];

pub fn check(root: &Path) -> Result<(), String> {
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let book = root.join(format!("target/bad-input/{i}"));
        let _ = std::fs::remove_dir_all(&book);
        write_book(root, &book, case).map_err(|e| format!("cannot write the scratch book: {e}"))?;
        let outcome = match case.check {
            Check::PageTests => page_tests(root, &book),
            Check::BookBuild => crate::book::build(&book, &[]),
            Check::Outputs => crate::outputs::check(&book, &[]),
        };
        let verdict = match outcome {
            Ok(()) => Err("the check passed".to_string()),
            Err(message) => match case.expect.iter().find(|e| !message.contains(*e)) {
                None => Ok(()),
                Some(missing) => Err(format!("the message does not say `{missing}`:\n{message}")),
            },
        };
        match verdict {
            Ok(()) => eprintln!("bad input: {} is rejected, naming its page", case.name),
            Err(why) => failures.push(format!("{} was not rejected as it should be: {why}", case.name)),
        }
    }
    println!("bad input: {} cases, {} not caught", CASES.len(), failures.len());
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

fn write_book(root: &Path, book: &Path, case: &Case) -> std::io::Result<()> {
    std::fs::create_dir_all(book.join("src"))?;
    std::fs::create_dir_all(book.join("listings/demo/src"))?;
    std::fs::copy(root.join("book.toml"), book.join("book.toml"))?;
    // book.toml names a theme folder; the scratch book needs its own copy.
    std::fs::create_dir_all(book.join("src/theme"))?;
    for entry in std::fs::read_dir(root.join("src/theme"))? {
        let path = entry?.path();
        std::fs::copy(&path, book.join("src/theme").join(path.file_name().unwrap()))?;
    }
    std::fs::write(book.join("src/SUMMARY.md"), "# Summary\n\n- [Broken](broken.md)\n")?;
    std::fs::write(book.join("src/broken.md"), format!("{PAGE_HEAD}{}", case.defect))?;
    std::fs::write(book.join("listings/demo/src/main.rs"), LISTING)?;
    // The page claims "goodbye"; the command prints "hello".
    std::fs::write(book.join("listings/demo/output.txt"), "$ echo hello\ngoodbye\n")
}

/// The page tests (skeptic and friends) pointed at the scratch book.
fn page_tests(root: &Path, book: &Path) -> Result<(), String> {
    let out = Command::new(env!("CARGO"))
        .args(["test", "-p", "book-tests", "--test", "pages"])
        .env("BOOK_ROOT", book)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(()) } else { Err(text) }
}
