//! The book's pages as tests: `tests/pages.rs` holds what `build.rs`
//! generates from them. This library has the one helper those tests share.

use std::process::Command;

/// A `compile_fail,EXXXX` block from `page` (expanded `line`) must fail to
/// compile, and with the error code the page promises: a block that fails
/// for another reason (a typo, a missing crate) proves nothing.
pub fn expect_compile_error(page: &str, line: usize, code: &str, source: &str) {
    let dir = std::env::temp_dir().join(format!("book-compile-fail-{}-{line}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("block.rs");
    std::fs::write(&file, source).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .args(["--edition=2021", "--crate-type=bin", "--emit=metadata", "--out-dir"])
        .arg(&dir)
        .arg(&file)
        .output()
        .expect("cannot run rustc");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{page}, block at expanded line {line}: marked compile_fail but it compiles"
    );
    assert!(
        stderr.contains(&format!("error[{code}]")),
        "{page}, block at expanded line {line}: expected to fail with {code}, but rustc said:\n{stderr}"
    );
}
