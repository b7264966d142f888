//! std::process::Command, the everyday way to start a program: wait for its
//! status, capture its output, feed its input, and learn that it could not
//! be started at all. Only the standard library: it runs on the playground.
use std::io::Write;
use std::process::{Command, Stdio};

fn main() -> std::io::Result<()> {
    // ANCHOR: status
    // 1. Run and wait: the child shares our stdout, so its line appears here.
    let status = Command::new("sh")
        .args(["-c", "echo 'sh: hello from the child'; exit 3"])
        .status()?;
    println!("status(): {status}, code {:?}", status.code());
    // ANCHOR_END: status

    // ANCHOR: output
    // 2. Capture: stdout and stderr become pipes that the parent reads to the end.
    let out = Command::new("uname").arg("-s").output()?;
    println!(
        "output(): {:?}, stdout {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
    );

    // 3. Feed: our end of a pipe is the child's standard input.
    let mut wc = Command::new("wc")
        .arg("-w")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = wc.stdin.take().expect("stdin was piped");
    stdin.write_all(b"four words for wc\n")?;
    drop(stdin); // close our end: wc sees end-of-file and prints its count
    let counted = wc.wait_with_output()?;
    println!(
        "spawn() + piped stdin: wc counted {} words",
        String::from_utf8_lossy(&counted.stdout).trim()
    );
    // ANCHOR_END: output

    // ANCHOR: errors
    // 4. A program that does not exist is an Err from spawn, in the parent:
    //    no exit code 127 to decode (compare Listing 1.2).
    match Command::new("no-such-program-here").status() {
        Ok(status) => println!("unexpected: {status}"),
        Err(e) => println!("status() of a missing program: Err({:?}): {e}", e.kind()),
    }

    // 5. Killed by a signal: there is no exit code, only the signal.
    let status = Command::new("sh").args(["-c", "kill -TERM $$"]).status()?;
    println!("killed child: {status}, code {:?}", status.code());
    // ANCHOR_END: errors

    // ANCHOR: fork_path
    // 6. A bare program name plus a PATH changed for the child: posix_spawn
    //    would search the *parent's* PATH, so std falls back to fork + exec.
    let status = Command::new("true").env("PATH", "/usr/bin:/bin").status()?;
    println!("with its own PATH: {status}");
    // ANCHOR_END: fork_path
    Ok(())
}
