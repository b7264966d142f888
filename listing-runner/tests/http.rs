//! The runner as a reader's browser (or a hostile page) meets it: a real
//! runner process on loopback, over a scratch workspace whose "listings"
//! misbehave on purpose (stay alive with children, flood their output,
//! sleep). Each refusal must come with a clear status and message; each
//! kill must take the whole process group and leave no zombie.
//!
//! Only generous liveness deadlines here, no timing assertions. If one of
//! these fails, read the runner's security notes in src/lib.rs and
//! CONTRIBUTING.md ("Running listings from the page").

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const ORIGIN: &str = "http://localhost:3999";
/// Building the scratch listings once, cold, on a loaded 2-core machine.
const BUILD_DEADLINE: Duration = Duration::from_secs(600);
/// Anything else that should take a moment.
const DEADLINE: Duration = Duration::from_secs(60);

// ---- the scratch workspace ----

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn listing(root: &Path, name: &str, metadata: &str, output_first_line: &str, main: &str) {
    let dir = root.join("listings").join(name);
    write(&dir.join("Cargo.toml"), &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{metadata}\n"));
    write(&dir.join("output.txt"), &format!("{output_first_line}\n(what our run printed)\n"));
    write(&dir.join("src/main.rs"), main);
}

/// Made and built once for all the tests of this file.
fn fixture() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner-fixture");
        write(&root.join("Cargo.toml"), "[workspace]\nresolver = \"2\"\nmembers = [\"listings/*\"]\nexclude = [\"listings/refused\"]\n");
        listing(&root, "hello", "", "$ cargo run -p hello -- --one", "fn main() { let a: Vec<String> = std::env::args().skip(1).collect(); println!(\"hello {}\", a.join(\" \")); }\n");
        write(&root.join("src/page.md"), "# A page\n\n<!-- run: cargo run -p hello -- --two 2 -->\n");
        listing(
            &root,
            "family",
            "[package.metadata.listing-runner]\ntimeout-seconds = 2\n",
            "$ cargo run -p family",
            r#"use std::process::Command;
fn main() {
    if std::env::args().nth(1).as_deref() == Some("--child") {
        loop { std::thread::sleep(std::time::Duration::from_secs(1)); }
    }
    let me = std::env::current_exe().unwrap();
    for _ in 0..2 {
        let child = Command::new(&me).arg("--child").spawn().unwrap();
        println!("child {}", child.id());
    }
    println!("parent {} stays", std::process::id());
    loop { std::thread::sleep(std::time::Duration::from_secs(1)); }
}
"#,
        );
        listing(&root, "flood", "", "$ cargo run -p flood", "fn main() { let line = \"x\".repeat(99); loop { println!(\"{line}\"); } }\n");
        listing(
            &root,
            "sleeper",
            "",
            "$ cargo run -p sleeper",
            "fn main() { println!(\"sleeper {}\", std::process::id()); std::thread::sleep(std::time::Duration::from_secs(600)); }\n",
        );
        // Must not compile, so excluded (an empty [workspace] of its own).
        let refused = root.join("listings/refused");
        write(&refused.join("Cargo.toml"), "[package]\nname = \"refused\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
        write(&refused.join("output.txt"), "$ cargo run -p refused\n");
        write(&refused.join("src/main.rs"), "fn main() { let x: u8 = \"no\"; }\n");
        let status = Command::new(env!("CARGO")).args(["build", "--workspace", "--quiet"]).current_dir(&root).status().unwrap();
        assert!(status.success(), "the scratch listings did not build");
        root
    })
}

// ---- a runner process ----

struct Runner {
    child: Child,
    port: u16,
    token: String,
    config: PathBuf,
}

impl Runner {
    fn start(extra: &[&str]) -> Runner {
        let root = fixture();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("runner-config-{}-{n}.js", std::process::id()));
        let _ = std::fs::remove_file(&config);
        let child = Command::new(env!("CARGO_BIN_EXE_listing-runner"))
            .args(["--root", root.to_str().unwrap(), "--origin", ORIGIN, "--config-js", config.to_str().unwrap()])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot start listing-runner");
        let start = Instant::now();
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&config) {
                if t.ends_with(";\n") {
                    break t;
                }
            }
            assert!(start.elapsed() < DEADLINE, "the runner never wrote its config script {}", config.display());
            std::thread::sleep(Duration::from_millis(20));
        };
        let json: serde_json::Value = serde_json::from_str(text.trim().trim_start_matches("window.LISTING_RUNNER = ").trim_end_matches(';')).unwrap();
        let port = json["url"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
        Runner { child, port, token: json["token"].as_str().unwrap().to_string(), config }
    }

    fn good_headers(&self) -> Vec<(String, String)> {
        vec![("Host".into(), format!("127.0.0.1:{}", self.port)), ("Origin".into(), ORIGIN.into()), ("x-runner-token".into(), self.token.clone())]
    }

    fn post(&self, path: &str, body: &str) -> Response {
        request(self.port, "POST", path, &self.good_headers(), body)
    }

    fn run(&self, block: &str, listing: &str, args: &[&str]) -> Response {
        self.post("/api/run", &serde_json::json!({ "block": block, "listing": listing, "args": args }).to_string())
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

// ---- a small HTTP/1.1 client (the server side is axum's) ----

struct Response {
    status: u16,
    reader: BufReader<TcpStream>,
    chunked: bool,
    buffer: String,
}

fn request(port: u16, method: &str, path: &str, headers: &[(String, String)], body: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an HTTP status line: {line:?}"));
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        chunked |= line.to_ascii_lowercase().starts_with("transfer-encoding: chunked");
    }
    Response { status, reader, chunked, buffer: String::new() }
}

impl Response {
    /// The next piece of the body; None at its end.
    fn piece(&mut self) -> Option<String> {
        let mut bytes = Vec::new();
        if self.chunked {
            let mut size = String::new();
            self.reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            if size == 0 {
                return None;
            }
            bytes.resize(size + 2, 0);
            self.reader.read_exact(&mut bytes).ok()?;
            bytes.truncate(size);
        } else {
            self.reader.read_to_end(&mut bytes).ok()?;
            if bytes.is_empty() {
                return None;
            }
        }
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn text(mut self) -> String {
        let mut all = String::new();
        while let Some(p) = self.piece() {
            all.push_str(&p);
        }
        all
    }

    /// The next server-sent event, as (name, JSON data); keep-alive
    /// comments skipped. None when the stream ends.
    fn event(&mut self) -> Option<(String, serde_json::Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in raw.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.strip_prefix(' ').unwrap_or(d));
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data))));
            }
            let piece = self.piece()?;
            self.buffer.push_str(&piece);
        }
    }

    /// Events until `exit` (or `error`), with the output gathered.
    fn finish(&mut self) -> Finished {
        let start = Instant::now();
        let mut done = Finished::default();
        while let Some((name, data)) = self.event() {
            assert!(start.elapsed() < BUILD_DEADLINE, "the run did not end within {BUILD_DEADLINE:?}");
            match name.as_str() {
                "output" => done.output.push_str(data.as_str().unwrap_or("")),
                "started" => done.pid = data["pid"].as_u64().map(|p| p as u32),
                "note" => done.notes.push(data.as_str().unwrap_or("").to_string()),
                "exit" | "error" => {
                    done.exit = Some(data);
                    break;
                }
                _ => {}
            }
        }
        done
    }

    /// Events until `started`; its pid.
    fn started(&mut self) -> u32 {
        while let Some((name, data)) = self.event() {
            match name.as_str() {
                "started" => return data["pid"].as_u64().unwrap() as u32,
                "error" | "exit" => panic!("the run ended before it started: {data}"),
                _ => {}
            }
        }
        panic!("the stream ended before the run started");
    }
}

#[derive(Default, Debug)]
struct Finished {
    pid: Option<u32>,
    output: String,
    notes: Vec<String>,
    exit: Option<serde_json::Value>,
}

// ---- processes ----

/// A process that is neither running nor a zombie has no /proc entry.
fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn wait_gone(pids: &[u32], what: &str) {
    let start = Instant::now();
    while let Some(left) = pids.iter().find(|p| !gone(**p)) {
        let state = std::fs::read_to_string(format!("/proc/{left}/stat")).unwrap_or_default();
        assert!(start.elapsed() < DEADLINE, "{what}: process {left} is still there ({state}); the runner must kill the whole group and reap it (run.rs kill_group, reap_group)");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pids_in(output: &str, word: &str) -> Vec<u32> {
    output.lines().filter_map(|l| l.strip_prefix(word)).filter_map(|r| r.split_whitespace().next()?.parse().ok()).collect()
}

fn assert_refused(r: Response, status: u16, words: &str, what: &str) {
    let got = r.status;
    let body = r.text();
    assert_eq!(got, status, "{what}: expected HTTP {status}, got {got}: {body}");
    assert!(body.contains(words), "{what}: the message should say `{words}`: {body}");
}

// ---- the tests ----

#[test]
fn requests_from_outside_the_served_book_are_refused() {
    let runner = Runner::start(&[]);
    let body = r#"{"block":"b","listing":"hello","args":["--one"]}"#;
    let with = |replace: &str, value: Option<&str>| {
        let mut h: Vec<(String, String)> = runner.good_headers().into_iter().filter(|(k, _)| k != replace).collect();
        if let Some(v) = value {
            h.push((replace.to_string(), v.to_string()));
        }
        request(runner.port, "POST", "/api/run", &h, body)
    };
    assert_refused(with("Origin", Some("http://evil.example")), 403, "is not the served book", "a foreign Origin");
    assert_refused(with("Origin", None), 403, "no Origin", "no Origin");
    assert_refused(with("Host", Some(&format!("evil.example:{}", runner.port))), 421, "DNS rebinding", "a wrong Host (DNS rebinding)");
    assert_refused(with("x-runner-token", None), 401, "missing token", "no token");
    assert_refused(with("x-runner-token", Some(&"0".repeat(64))), 401, "wrong token", "a wrong token");
    // A preflight from the book is answered without a token, for that origin only.
    let pre = with("x-runner-token", None);
    assert_eq!(pre.status, 401);
    let h: Vec<(String, String)> = runner.good_headers().into_iter().filter(|(k, _)| k != "x-runner-token").collect();
    let mut preflight = request(runner.port, "OPTIONS", "/api/run", &h, "");
    assert_eq!(preflight.status, 204, "the book's CORS preflight should be allowed");
    let _ = preflight.piece();
}

#[test]
fn only_declared_listings_and_arguments_run() {
    let runner = Runner::start(&[]);
    assert_refused(runner.run("b", "no-such-listing", &[]), 404, "unknown package", "an unknown package");
    assert_refused(runner.run("b", "refused", &[]), 404, "unknown package", "a listing excluded from the workspace");
    assert_refused(runner.run("b", "../hello", &[]), 400, "never by a path", "`../` in the name");
    assert_refused(runner.run("b", "/bin/sh", &[]), 400, "never by a path", "an absolute path");
    assert_refused(runner.run("b", "listings/hello", &[]), 400, "never by a path", "a relative path");
    assert_refused(runner.run("b", "hello", &["--one", "; rm -rf ~"]), 403, "not declared", "an undeclared argument");
    assert_refused(runner.run("b", "hello", &[]), 403, "not declared", "no argument where the pages declare one");
    assert_refused(runner.post("/api/run", "not json"), 400, "must be JSON", "a body that is not JSON");

    // The default set (from output.txt) and the one the page declares.
    for (args, says) in [(&["--one"][..], "hello --one"), (&["--two", "2"][..], "hello --two 2")] {
        let mut r = runner.run("b", "hello", args);
        assert_eq!(r.status, 200);
        let done = r.finish();
        assert!(done.output.contains(says), "the listing's output should be streamed: {done:?}");
        let exit = done.exit.unwrap();
        assert_eq!(exit["success"], true, "{exit}");
        assert!(exit["wall_ms"].as_f64().unwrap() > 0.0, "{exit}");
    }
    let listings = runner.post("/api/listings", "");
    assert_eq!(listings.status, 405, "the catalog is a GET");
    let catalog = request(runner.port, "GET", "/api/listings", &runner.good_headers(), "").text();
    assert!(catalog.contains("cargo run -p hello -- --two 2") && !catalog.contains("\"refused\""), "{catalog}");
}

#[test]
fn a_flood_of_runs_stays_bounded() {
    let runner = Runner::start(&["--max-runs", "2"]);
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let (port, headers) = (runner.port, runner.good_headers());
            std::thread::spawn(move || {
                let body = serde_json::json!({ "block": format!("flood-{i}"), "listing": "sleeper", "args": [] }).to_string();
                request(port, "POST", "/api/run", &headers, &body)
            })
        })
        .collect();
    let responses: Vec<Response> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
    let (mut running, refused): (Vec<_>, Vec<_>) = responses.into_iter().partition(|r| r.status == 200);
    assert_eq!(running.len(), 2, "exactly --max-runs runs may go at once");
    for r in refused {
        assert_refused(r, 429, "the most at once", "a run past the bound");
    }
    let pids: Vec<u32> = running.iter_mut().map(|r| r.started()).collect();
    assert!(pids.iter().all(|p| !gone(*p)), "both admitted runs should be alive");
    // Hanging up kills them (disconnect) and gives the places back.
    drop(running);
    wait_gone(&pids, "a run whose page went away");
    let start = Instant::now();
    loop {
        let mut r = runner.run("after", "hello", &["--one"]);
        if r.status == 200 {
            assert!(r.finish().output.contains("hello --one"));
            break;
        }
        assert!(start.elapsed() < DEADLINE, "after the runs ended, a new run is still refused: {}", r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_past_its_timeout_is_killed_with_its_children() {
    let runner = Runner::start(&[]);
    let mut r = runner.run("t", "family", &[]);
    assert_eq!(r.status, 200);
    let done = r.finish();
    let exit = done.exit.clone().expect("an exit event");
    assert!(exit["ended"].as_str().unwrap_or("").contains("2 s timeout"), "the family listing declares a 2 s timeout: {exit}");
    assert_eq!(exit["signal"], 9, "killed by SIGKILL: {exit}");
    let mut pids = pids_in(&done.output, "child ");
    pids.extend(pids_in(&done.output, "parent "));
    assert_eq!(pids.len(), 3, "the listing prints two children and itself: {done:?}");
    wait_gone(&pids, "a listing and its children after the timeout");
}

#[test]
fn an_output_flood_is_cut_at_the_cap_with_a_note() {
    let runner = Runner::start(&[]);
    let mut r = runner.run("f", "flood", &[]);
    assert_eq!(r.status, 200);
    let done = r.finish();
    assert_eq!(done.output.len(), 1024 * 1024, "exactly 1 MiB of output should reach the page");
    assert!(done.notes.iter().any(|n| n.contains("output cut at 1024 KiB")), "a note must say the output was cut: {:?}", done.notes);
    assert!(done.exit.unwrap()["ended"].as_str().unwrap().contains("output cap"));
    wait_gone(&[done.pid.unwrap()], "a listing cut at the output cap");
}

#[test]
fn stop_replace_and_shutdown_kill_the_group() {
    let mut runner = Runner::start(&[]);
    // Stop.
    let mut a = runner.run("s", "sleeper", &[]);
    let pid = a.started();
    let stop = runner.post("/api/stop", r#"{"block":"s"}"#);
    assert_eq!(stop.status, 200);
    let exit = a.finish().exit.unwrap();
    assert!(exit["ended"].as_str().unwrap().contains("Stop"), "{exit}");
    wait_gone(&[pid], "a run after Stop");
    assert_refused(runner.post("/api/stop", r#"{"block":"s"}"#), 404, "nothing is running", "Stop with nothing running");

    // A second Run of the same block replaces the first.
    let mut first = runner.run("same", "sleeper", &[]);
    let first_pid = first.started();
    let mut second = runner.run("same", "sleeper", &[]);
    assert_eq!(second.status, 200);
    let exit = first.finish().exit.unwrap();
    assert!(exit["ended"].as_str().unwrap().contains("replaced"), "{exit}");
    wait_gone(&[first_pid], "a run replaced by a second Run of its block");
    let second_pid = second.started();

    // The runner stopping takes its runs with it.
    // SAFETY: kill(2) to our own child, by its pid.
    unsafe { libc::kill(runner.child.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    while runner.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < DEADLINE, "the runner did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_gone(&[second_pid], "a run when the runner stops");
    assert!(!runner.config.exists(), "the runner should remove its token file when it stops");
}

#[test]
fn a_page_that_stops_reading_does_not_keep_a_run_alive() {
    let runner = Runner::start(&[]);
    // Read up to the start, then never again: the page hangs on without reading.
    let mut stalled = runner.run("stalled", "flood", &[]);
    assert_eq!(stalled.status, 200);
    let pids = vec![stalled.started()];
    // Cut at the cap, or dropped as a reader that stopped: either way, gone.
    wait_gone(&pids, "a run whose page stopped reading its output");
    drop(stalled);
}
