//! Load client for the three echo servers (versus-02-prefork,
//! versus-03-threads, versus-04-async). For each one it starts the server,
//! sends a fixed number of requests over many connections, samples the
//! server's memory from /proc, then sends `panic`, `block` and `abort` to
//! see what survives, and finally `quit`. Bounded: fixed request counts, a
//! timeout on every socket, and a server that is still alive at the end is
//! killed and reaped.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const SERVERS: [&str; 3] = ["versus-02-prefork", "versus-03-threads", "versus-04-async"];
const CONNECTIONS: usize = 32;
const REQUESTS_PER_CONNECTION: usize = 1000;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to the server, with a reader for its replies.
struct Conn {
    out: TcpStream,
    replies: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let out = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        out.set_read_timeout(Some(IO_TIMEOUT))?;
        let replies = BufReader::new(out.try_clone()?);
        Ok(Conn { out, replies })
    }
    fn send(&mut self, line: &str) -> std::io::Result<()> {
        self.out.write_all(format!("{line}\n").as_bytes())
    }
    /// The next reply line, or None if the server closed the connection.
    fn reply(&mut self) -> std::io::Result<Option<String>> {
        let mut line = String::new();
        match self.replies.read_line(&mut line)? {
            0 => Ok(None),
            _ => Ok(Some(line.trim_end().to_string())),
        }
    }
    fn ask(&mut self, line: &str) -> std::io::Result<Option<String>> {
        self.send(line)?;
        self.reply()
    }
}

// ANCHOR: memory
/// Memory of a server: its process plus its children (prefork workers).
#[derive(Default, Clone, Copy)]
struct Footprint {
    rss_kib: u64,
    pss_kib: u64,
    processes: u64,
    threads: u64,
}

fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn footprint(pid: u32) -> Footprint {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut f = Footprint::default();
    for p in std::iter::once(pid).chain(children.split_whitespace().filter_map(|c| c.parse().ok())) {
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        let rollup = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
        f.rss_kib += field(&status, "VmRSS:");
        f.threads += field(&status, "Threads:");
        // PSS splits each shared page between the processes sharing it, so
        // the prefork workers' common pages are not counted four times.
        f.pss_kib += field(&rollup, "Pss:");
        f.processes += 1;
    }
    f
}
// ANCHOR_END: memory

// ANCHOR: load
/// CONNECTIONS clients at once, each sending REQUESTS_PER_CONNECTION lines
/// and checking every echo. Returns the requests answered, the time taken and
/// the largest footprint seen while the load ran.
fn load(addr: SocketAddr, pid: u32) -> (usize, Duration, Footprint) {
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = Arc::clone(&running);
        thread::spawn(move || {
            let mut peak = Footprint::default();
            while running.load(Ordering::Relaxed) {
                let now = footprint(pid);
                if now.pss_kib > peak.pss_kib {
                    peak = now;
                }
                thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    };
    let start = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            thread::spawn(move || -> std::io::Result<usize> {
                let mut conn = Conn::open(addr)?;
                for r in 0..REQUESTS_PER_CONNECTION {
                    let msg = format!("hello {c} {r}");
                    match conn.ask(&msg)? {
                        Some(echo) if echo == msg => {}
                        other => panic!("expected the echo {msg:?}, got {other:?}"),
                    }
                }
                Ok(REQUESTS_PER_CONNECTION)
            })
        })
        .collect();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap().unwrap_or(0)).sum();
    let took = start.elapsed();
    running.store(false, Ordering::Relaxed);
    (answered, took, sampler.join().unwrap())
}
// ANCHOR_END: load

// ANCHOR: faults
/// Does a fresh connection still get its echo?
fn still_serving(addr: SocketAddr) -> &'static str {
    match Conn::open(addr).and_then(|mut c| c.ask("are you there?")) {
        Ok(Some(_)) => "yes, a new connection got its echo",
        Ok(None) => "no, the new connection was closed",
        Err(_) => "no, the connection was refused",
    }
}

fn describe(answer: Option<String>) -> String {
    match answer {
        None => "that connection was closed".into(),
        Some(text) => format!("that connection got {text:?}"),
    }
}

fn faults(addr: SocketAddr) -> std::io::Result<()> {
    // 1. A handler panics.
    let mut victim = Conn::open(addr)?;
    let answer = victim.ask("panic")?;
    println!("  `panic`: {}; still serving? {}", describe(answer), still_serving(addr));

    // 2. A handler blocks for a second: how long does another client wait?
    let mut sleeper = Conn::open(addr)?;
    sleeper.ask("warm up")?; // make sure a handler owns this connection
    sleeper.send("block 1000")?;
    thread::sleep(Duration::from_millis(100));
    let asked = Instant::now();
    let mut other = Conn::open(addr)?;
    other.ask("ping")?;
    let waited = asked.elapsed();
    sleeper.reply()?; // "unblocked"
    println!("  `block 1000`: meanwhile another client waited {:.1} ms for its echo", waited.as_secs_f64() * 1e3);

    // 3. A handler aborts the process it runs in.
    let mut victim = Conn::open(addr)?;
    let answer = victim.ask("abort")?;
    thread::sleep(Duration::from_millis(200)); // let a prefork master replace the worker
    println!("  `abort`: {}; still serving? {}", describe(answer), still_serving(addr));
    Ok(())
}
// ANCHOR_END: faults

/// Starts one server binary and reads the address it prints.
fn start(exe: &PathBuf) -> (Child, SocketAddr) {
    let mut cmd = Command::new(exe);
    cmd.env_remove("RUST_BACKTRACE") // one-line panic messages, whatever the reader's shell says
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: runs in the child between fork and exec, and calls only
    // prctl, which is async-signal-safe. If this client dies (Ctrl-C), the
    // kernel kills the server too instead of leaving it to its time limit.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut first).unwrap();
    let addr = first.trim().strip_prefix("listening on ").expect("server did not say where it listens");
    (child, addr.parse().unwrap())
}

/// Says `quit` if the server still answers, then waits for it (killing it
/// after IO_TIMEOUT), and describes how it ended.
fn finish(mut child: Child, addr: SocketAddr) -> String {
    if let Ok(mut c) = Conn::open(addr) {
        let _ = c.ask("quit");
    }
    let deadline = Instant::now() + IO_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(10));
    };
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (_, Some(6)) => "was killed by signal 6 (SIGABRT)".into(),
        (_, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "ended".into(),
    }
}

/// Builds the three servers (same profile as this client) and returns where
/// cargo put them: next to this program.
fn build_servers() -> Vec<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    for s in SERVERS {
        cmd.args(["-p", s]);
    }
    assert!(cmd.status().expect("cannot run cargo").success(), "building the servers failed");
    let dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    SERVERS.iter().map(|s| dir.join(s)).collect()
}

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{CONNECTIONS} connections x {REQUESTS_PER_CONNECTION} requests per server, {cpus} CPUs, {} build",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    for (name, exe) in SERVERS.iter().zip(build_servers()) {
        println!("\n{name}");
        let (mut child, addr) = start(&exe);
        let mut stderr = child.stderr.take().unwrap();
        let log = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let (answered, took, peak) = load(addr, child.id());
        println!(
            "  {answered} requests in {:.2} s = {:.0}/s",
            took.as_secs_f64(),
            answered as f64 / took.as_secs_f64()
        );
        println!(
            "  peak memory: PSS {} KiB (RSS summed {} KiB); processes {}, threads {}",
            peak.pss_kib, peak.rss_kib, peak.processes, peak.threads
        );
        if let Err(e) = faults(addr) {
            println!("  fault tests stopped: {e}");
        }
        println!("  the server {}", finish(child, addr));
        println!("  what the server wrote on stderr:");
        for line in log.join().unwrap().lines() {
            println!("    | {line}");
        }
    }
}
