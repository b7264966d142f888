//! Lab 1's graded tests: `cargo test -p lab1 [FILTER]`.
//!
//! The functions graded here fork, and forking inside libtest's
//! multi-threaded harness is not safe, so this test has its own `main`.
//! Every test runs in a fresh copy of this program (a helper process,
//! started with `LAB1_CASE=<test name>`), single-threaded when it starts.
//! The helper calls the student's function with counting instruments,
//! judges what it saw (children, threads, descriptors, bytes, switches, CPU
//! sets, clock readings) and prints a verdict line. This side only starts
//! helpers, with a watchdog each, and prints the results as libtest would.
//!
//! Nothing here is timed against a threshold: a correct solution passes on
//! however slow or busy a machine, within the watchdog's generous limit.

mod cases;
mod instruments;

use cases::{Case, CASES};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

const CASE_ENV: &str = "LAB1_CASE";
/// Lines of the helper's stdout that carry the protocol start with this.
const TAG: &str = "@lab1 ";
/// How long one test may take before its helper is killed. A correct
/// solution needs about a second (debug build).
const LIMIT: Duration = Duration::from_secs(30);
/// Helpers run side by side, this many at once.
const PARALLEL: usize = 4;

fn main() {
    match std::env::var(CASE_ENV) {
        Ok(name) => helper(&name),
        Err(_) => std::process::exit(runner()),
    }
}

// ---------------------------------------------------------------------------
// The helper process: one test.
// ---------------------------------------------------------------------------

/// Set while a test calls a function that must panic: its panic is the
/// expected outcome, not a verdict.
pub static EXPECTING_PANIC: AtomicBool = AtomicBool::new(false);

fn say(kind: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{TAG}{kind} {}", text.replace('\n', "\u{1f}"));
    let _ = out.flush();
}

/// Records what the test is about to do, and what usually goes wrong there,
/// for the watchdog's message if it never comes back.
pub fn stage(doing: &str, hint: &str) {
    say("stage", &format!("{doing}\t{hint}"));
}

fn helper(name: &str) -> ! {
    instruments::init();
    std::panic::set_hook(Box::new(|info| {
        if EXPECTING_PANIC.load(Ordering::SeqCst) {
            return;
        }
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic without a message)".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        say("panic", &format!("{payload}\t{place}"));
    }));
    let case = CASES.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no test named {name}"));
    match (case.run)() {
        Ok(()) => say("ok", ""),
        Err(verdict) => say("fail", &verdict),
    }
    std::process::exit(0)
}

// ---------------------------------------------------------------------------
// The runner: starts helpers, prints results.
// ---------------------------------------------------------------------------

struct Outcome {
    ok: bool,
    message: String,
}

fn runner() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for c in CASES {
            println!("{}: test", c.name);
        }
        return 0;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let selected: Vec<&Case> = CASES
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| if exact { c.name == f.as_str() } else { c.name.contains(f.as_str()) }))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let started = Instant::now();
    let results: Vec<Mutex<Option<Outcome>>> = selected.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let printed = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(selected.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = selected.get(i) else { break };
                let outcome = run_case(case);
                *results[i].lock().unwrap() = Some(outcome);
                // Print in order, as soon as every earlier test is done.
                let mut p = printed.lock().unwrap();
                while *p < selected.len() {
                    let r = results[*p].lock().unwrap();
                    let Some(o) = r.as_ref() else { break };
                    println!("test {} ... {}", selected[*p].name, if o.ok { "ok" } else { "FAILED" });
                    drop(r);
                    *p += 1;
                }
            });
        }
    });
    let outcomes: Vec<Outcome> = results.into_iter().map(|m| m.into_inner().unwrap().unwrap()).collect();
    let failed: Vec<(&Case, &Outcome)> = selected.iter().copied().zip(&outcomes).filter(|(_, o)| !o.ok).collect();
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for (case, o) in &failed {
            println!("---- {} ----\n{}\n", case.name, o.message);
        }
        println!("failures:");
        for (case, _) in &failed {
            println!("    {}", case.name);
        }
        let first = failed[0].0.name;
        println!("\nStart with the first failure ({first}): later steps build on earlier ones.");
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        outcomes.len() - failed.len(),
        failed.len(),
        CASES.len() - selected.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() { 0 } else { 101 }
}

fn run_case(case: &Case) -> Outcome {
    let exe = std::env::current_exe().expect("cannot find this test program");
    let spawned = Command::new(exe)
        .env(CASE_ENV, case.name)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: whatever it leaves behind (a partner stuck
        // in a read, a child never reaped) is killed with it.
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return Outcome { ok: false, message: format!("cannot start the helper process: {e}") },
    };
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err = child.stderr.take().unwrap();
    let (etx, erx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Reads until EOF or 16 KiB, whichever comes first.
        while let Ok(n) = err.read(&mut chunk) {
            if n == 0 || buf.len() > 16 << 10 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let _ = etx.send(String::from_utf8_lossy(&chunk[..n]).into_owned());
        }
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    let mut timed_out = false;
    loop {
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if start.elapsed() > LIMIT {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Kill the whole group (the helper, if it hung, and anything it left).
    unsafe { libc::killpg(pid, libc::SIGKILL) };
    let status = child.wait().ok();
    // The helper is gone: collect what it wrote (a left-over process that
    // still held the pipe was just killed too).
    let drain_until = Instant::now() + Duration::from_millis(500);
    while let Ok(l) = rx.recv_timeout(drain_until.saturating_duration_since(Instant::now())) {
        lines.push(l);
    }
    let stderr: String = erx.try_iter().collect();
    judge(case, &lines, timed_out, status, &stderr)
}

fn judge(case: &Case, lines: &[String], timed_out: bool, status: Option<std::process::ExitStatus>, stderr: &str) -> Outcome {
    let mut stage = ("starting the test".to_string(), String::new());
    let mut panics = Vec::new();
    let mut verdict = None;
    for line in lines {
        let Some(rest) = line.strip_prefix(TAG) else { continue };
        let (kind, text) = rest.split_once(' ').unwrap_or((rest, ""));
        let text = text.replace('\u{1f}', "\n");
        match kind {
            "stage" => {
                let (d, h) = text.split_once('\t').unwrap_or((&text, ""));
                stage = (d.to_string(), h.to_string());
            }
            "panic" => panics.push(text),
            "ok" => verdict = Some(Ok(())),
            "fail" => verdict = Some(Err(text)),
            _ => {}
        }
    }
    let (doing, hint) = &stage;
    // Every test's name starts with its step, and every step has its page.
    let step = case.name.split('_').next().unwrap_or("step1");
    let page = format!("Read: Lab 1, {} (src/lab1/{step}.md).", step.replace("step", "Step "));
    let hint = if hint.is_empty() { format!("\n{page}") } else { format!("\nhint: {hint}. {page}") };
    let extra = |s: &str| if s.trim().is_empty() { String::new() } else { format!("\n\n(its stderr:)\n{}", s.trim_end()) };
    if let Some(first) = panics.first() {
        let (payload, place) = first.split_once('\t').unwrap_or((first, ""));
        if let Some(what) = payload.strip_prefix("not yet implemented: ") {
            return Outcome { ok: false, message: format!("not implemented yet: {what}\n(the test was {doing}; that function still calls todo!())") };
        }
        let more = if panics.len() > 1 { format!(" (and {} more panics after it)", panics.len() - 1) } else { String::new() };
        return Outcome { ok: false, message: format!("panicked{place}: {payload}{more}\n(while the test was {doing}){hint}{}", extra(stderr)) };
    }
    if timed_out {
        return Outcome {
            ok: false,
            message: format!("no verdict within {LIMIT:?} while the test was {doing}: something blocks forever (it was killed).{hint}{}", extra(stderr)),
        };
    }
    match verdict {
        Some(Ok(())) => Outcome { ok: true, message: String::new() },
        Some(Err(text)) => Outcome { ok: false, message: text },
        None => Outcome {
            ok: false,
            message: format!(
                "the helper process ended ({}) without a verdict while the test was {doing}: did the code under test exit the process (a child returning instead of calling _exit, or std::process::exit)?{hint}{}",
                status.map(|s| s.to_string()).unwrap_or_else(|| "status unknown".into()),
                extra(stderr)
            ),
        },
    }
}
