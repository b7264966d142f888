//! The reader's wait: from the Run request to the first line of output,
//! when the listing is already built (the runner still asks cargo, which
//! finds nothing to do, then starts the binary). The target is under 1 s.
//!
//! `cargo bench -p listing-runner` starts a real runner on loopback for this
//! workspace and times `POST /api/run` to the first `output` event
//! of `thread-02-spawn-join` (the rest of each run is read untimed).

use criterion::{criterion_group, criterion_main, Criterion};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LISTING: &str = "thread-02-spawn-join";
const ORIGIN: &str = "http://localhost:3999";

struct Runner {
    child: std::process::Child,
    port: u16,
    token: String,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Runner {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let config = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-runner-config.js");
    let _ = std::fs::remove_file(&config);
    let child = Command::new(env!("CARGO_BIN_EXE_listing-runner"))
        .args(["--root", root.to_str().unwrap(), "--origin", ORIGIN, "--config-js", config.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let text = loop {
        match std::fs::read_to_string(&config) {
            Ok(t) if t.ends_with(";\n") => break t,
            _ if started.elapsed() > Duration::from_secs(30) => panic!("the runner wrote no config"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let json: serde_json::Value = serde_json::from_str(text.trim().trim_start_matches("window.LISTING_RUNNER = ").trim_end_matches(';')).unwrap();
    let port = json["url"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    Runner { child, port, token: json["token"].as_str().unwrap().into() }
}

/// One run; returns the time from sending the request to the first output.
fn run_once(runner: &Runner) -> Duration {
    let body = serde_json::json!({ "block": "bench", "listing": LISTING, "args": [] }).to_string();
    let sent = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", runner.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    let request = format!(
        "POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: {ORIGIN}\r\nx-runner-token: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        runner.port,
        runner.token,
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let (mut seen, mut first, mut buf) = (String::new(), None, [0u8; 16384]);
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended before the run did: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if first.is_none() && seen.contains("event: output") {
            first = Some(sent.elapsed());
        }
        if seen.contains("event: exit") || seen.contains("event: error") {
            break;
        }
    }
    assert!(seen.contains("event: exit"), "the run failed: {seen}");
    first.expect("no output before the exit")
}

fn first_output(c: &mut Criterion) {
    let runner = start();
    run_once(&runner); // builds it if needed: untimed
    let mut group = c.benchmark_group("runner");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.bench_function(format!("first output of {LISTING}, already built"), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_once(&runner)).sum())
    });
    group.finish();
}

criterion_group!(benches, first_output);
criterion_main!(benches);
