//! One run: `cargo build -p NAME` (its progress streamed), then the built
//! binary itself in a process group of its own, its output streamed until
//! it exits or is killed. Nothing goes through a shell, and the only
//! program names are `cargo` and the executable cargo reports for NAME.

use crate::catalog::{ArgSet, Listing};
use axum::response::sse::Event;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};

/// A cold build of a listing can take minutes; it still has a bound.
const BUILD_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// After the listing exits, how long its pipes may stay open (a descendant
/// that left the group) before the runner stops reading them.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

pub struct RunJob {
    pub root: PathBuf,
    pub listing: Listing,
    pub set: ArgSet,
    pub output_cap: usize,
    pub events: mpsc::Sender<Event>,
    pub stop: watch::Receiver<Option<&'static str>>,
    pub shutdown: watch::Receiver<bool>,
}

#[derive(Clone, Copy)]
enum Ended {
    Stopped(&'static str),
    Disconnected,
    Shutdown,
    Timeout(Duration),
    Capped,
}

impl Ended {
    fn note(self) -> String {
        match self {
            Ended::Stopped(why) => format!("killed (the whole process group): {why}"),
            Ended::Disconnected => "killed (the whole process group): the page went away".into(),
            Ended::Shutdown => "killed (the whole process group): the runner is stopping".into(),
            Ended::Timeout(t) => format!("killed (the whole process group): still running after its {} s timeout", t.as_secs()),
            Ended::Capped => "killed (the whole process group): output cap reached".into(),
        }
    }
}

/// How long a page may leave the stream unread before it counts as gone:
/// a run must not outlive its timeout because nobody reads its output.
const SLOW_READER: Duration = Duration::from_secs(10);

/// False when the page is gone or stopped reading.
async fn send(events: &mpsc::Sender<Event>, kind: &str, data: serde_json::Value) -> bool {
    let event = Event::default().event(kind).data(data.to_string());
    matches!(tokio::time::timeout(SLOW_READER, events.send(event)).await, Ok(Ok(())))
}

/// Resolves when the run must end for a reason other than its own exit.
async fn interrupted(job: &mut RunJob) -> Ended {
    tokio::select! {
        r = job.stop.wait_for(Option::is_some) => Ended::Stopped(r.map(|v| v.unwrap()).unwrap_or("the runner dropped the run")),
        _ = job.shutdown.wait_for(|s| *s) => Ended::Shutdown,
        _ = job.events.closed() => Ended::Disconnected,
    }
}

/// SIGKILL to every process of the group (the listing and what it made).
fn kill_group(pgid: u32) {
    // Never 0 or 1: kill(0) is our own group, kill(-1) every process.
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) has no memory effects; a negative pid names a group.
    unsafe { libc::kill(-(pgid as libc::pid_t), libc::SIGKILL) };
}

/// Reaps the group's members that were handed to the runner (a child
/// subreaper, see main.rs) when their parent died: no zombie is left.
/// Call after the leader is reaped and the group killed.
async fn reap_group(pgid: u32) {
    if pgid <= 1 {
        return; // waitpid(0) would wait for our own group
    }
    let _ = tokio::task::spawn_blocking(move || loop {
        // SAFETY: waitpid with a null status pointer only reaps children.
        let r = unsafe { libc::waitpid(-(pgid as libc::pid_t), std::ptr::null_mut(), 0) };
        if r <= 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break; // ECHILD: none left
        }
    })
    .await;
}

#[derive(Clone, Copy, PartialEq)]
enum Pipe {
    Stdout,
    Stderr,
}

type Reader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// Both pipes of a child as one channel of chunks; closed at both EOFs.
fn read_pipes(child: &mut Child) -> mpsc::Receiver<(Pipe, Vec<u8>)> {
    let out = child.stdout.take().map(|p| (Pipe::Stdout, Box::new(p) as Reader));
    let err = child.stderr.take().map(|p| (Pipe::Stderr, Box::new(p) as Reader));
    read_chunks(out.into_iter().chain(err))
}

fn read_chunks(pipes: impl Iterator<Item = (Pipe, Reader)>) -> mpsc::Receiver<(Pipe, Vec<u8>)> {
    let (tx, rx) = mpsc::channel(64);
    for (which, mut pipe) in pipes {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = pipe.read(&mut buf).await {
                if tx.send((which, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Turns chunks into text without splitting a UTF-8 character in two.
#[derive(Default)]
struct Utf8 {
    carry: Vec<u8>,
}

impl Utf8 {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        let keep = match std::str::from_utf8(&self.carry) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => self.carry.len() - e.valid_up_to(),
            Err(_) => 0,
        };
        let tail = self.carry.split_off(self.carry.len() - keep);
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry = tail;
        text
    }
}

fn status_json(status: ExitStatus) -> serde_json::Value {
    use std::os::unix::process::ExitStatusExt;
    serde_json::json!({ "status": status.to_string(), "code": status.code(), "signal": status.signal(), "success": status.success() })
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// `cargo build -p NAME`: streams cargo's progress as `build` events and
/// returns the executable cargo reports for the package's binary.
async fn build(job: &mut RunJob) -> Result<PathBuf, String> {
    let name = job.listing.name.clone();
    let mut cmd = Command::new(cargo());
    cmd.args(["build", "-p", &name, "--message-format=json-render-diagnostics"]);
    if job.set.release {
        cmd.arg("--release");
    }
    cmd.env("CARGO_TERM_COLOR", "never").current_dir(&job.root).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).kill_on_drop(true);
    let shown = format!("cargo build{} -p {name}", if job.set.release { " --release" } else { "" });
    send(&job.events, "build", serde_json::json!(format!("$ {shown}\n"))).await;
    let mut child = cmd.spawn().map_err(|e| format!("cannot start cargo: {e}"))?;
    let pgid = child.id().unwrap_or(0);
    let mut pipes = read_pipes(&mut child);
    let mut json = Vec::new();
    let mut progress = Utf8::default();
    let deadline = tokio::time::sleep(BUILD_TIMEOUT);
    tokio::pin!(deadline);
    let mut status = None;
    loop {
        tokio::select! {
            chunk = pipes.recv() => match chunk {
                Some((Pipe::Stdout, bytes)) => json.extend_from_slice(&bytes),
                Some((Pipe::Stderr, bytes)) => {
                    send(&job.events, "build", serde_json::json!(progress.push(&bytes))).await;
                }
                None if status.is_some() => break,
                None => status = Some(child.wait().await.map_err(|e| e.to_string())?),
            },
            s = child.wait(), if status.is_none() => status = Some(s.map_err(|e| e.to_string())?),
            ended = interrupted(job), if status.is_none() => {
                kill_group(pgid);
                let _ = child.wait().await;
                reap_group(pgid).await;
                return Err(format!("build {}", ended.note()));
            }
            _ = &mut deadline, if status.is_none() => {
                kill_group(pgid);
                let _ = child.wait().await;
                return Err(format!("cargo build took longer than {} s and was killed", BUILD_TIMEOUT.as_secs()));
            }
        }
    }
    let status = status.unwrap();
    if !status.success() {
        return Err(format!("`{shown}` failed ({status})"));
    }
    executable(&json, &name).ok_or_else(|| format!("cargo built {name} but reported no binary for it"))
}

/// The package's binary among cargo's `compiler-artifact` messages: the
/// one named like the package, else the only one.
fn executable(messages: &[u8], package: &str) -> Option<PathBuf> {
    let mut bins = Vec::new();
    for line in messages.split(|b| *b == b'\n') {
        let Ok(m) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        if m["reason"] != "compiler-artifact" {
            continue;
        }
        if let Some(exe) = m["executable"].as_str() {
            let id = m["package_id"].as_str().unwrap_or("");
            let ours = id.contains(&format!("#{package}@")) || id.contains(&format!("/{package}#")) || id.starts_with(&format!("{package} "));
            if ours {
                bins.push((m["target"]["name"].as_str().unwrap_or("").to_string(), PathBuf::from(exe)));
            }
        }
    }
    let named = bins.iter().find(|(n, _)| n == package).map(|(_, p)| p.clone());
    named.or_else(|| (bins.len() == 1).then(|| bins[0].1.clone()))
}

pub async fn execute(mut job: RunJob) {
    let exe = match build(&mut job).await {
        Ok(exe) => exe,
        Err(message) => {
            send(&job.events, "error", serde_json::json!(message)).await;
            return;
        }
    };
    run(job, &exe).await;
}

async fn run(mut job: RunJob, exe: &Path) {
    // stdout and stderr share one pipe, as `2>&1` does for output.txt: the
    // page shows them in the order the listing wrote them.
    let (reader, writer) = match std::io::pipe().and_then(|(r, w)| Ok((r, w.try_clone()?, w))) {
        Ok((r, w1, w2)) => (r, (w1, w2)),
        Err(e) => {
            send(&job.events, "error", serde_json::json!(format!("cannot make a pipe: {e}"))).await;
            return;
        }
    };
    let mut cmd = Command::new(exe);
    cmd.args(&job.set.args)
        .current_dir(&job.listing.dir)
        // As `cargo xtask outputs` runs them for output.txt.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(writer.0)
        .stderr(writer.1)
        .process_group(0)
        .kill_on_drop(true);
    let start = Instant::now();
    let spawned = cmd.spawn();
    drop(cmd); // our copies of the write end: EOF comes when the group's are gone
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            send(&job.events, "error", serde_json::json!(format!("cannot start {}: {e}", exe.display()))).await;
            return;
        }
    };
    let reader = match tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into()) {
        Ok(r) => Box::new(r) as Reader,
        Err(e) => {
            kill_group(child.id().unwrap_or(0));
            send(&job.events, "error", serde_json::json!(format!("cannot read the pipe: {e}"))).await;
            return;
        }
    };
    let pid = child.id().unwrap_or(0);
    let tries: Vec<String> = job.listing.try_commands.iter().map(|c| c.replace("{pid}", &pid.to_string())).collect();
    send(&job.events, "started", serde_json::json!({ "pid": pid, "command": job.set.command, "try": tries })).await;

    let mut pipes = read_chunks(std::iter::once((Pipe::Stdout, reader)));
    let mut text = Utf8::default();
    let timeout = Duration::from_secs(job.listing.timeout_secs);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let (mut status, mut ended, mut wall) = (None, None, Duration::ZERO);
    let (mut total, mut capped) = (0usize, false);
    let mut pipes_open = true;
    let drain = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(drain);
    loop {
        tokio::select! {
            chunk = pipes.recv(), if pipes_open => match chunk {
                Some((_, bytes)) => {
                    if capped {
                        continue;
                    }
                    let take = bytes.len().min(job.output_cap - total);
                    total += take;
                    let part = text.push(&bytes[..take]);
                    if !part.is_empty() && !send(&job.events, "output", serde_json::json!(part)).await {
                        kill_group(pid);
                        ended.get_or_insert(Ended::Disconnected);
                        capped = true; // nobody reads: drop the rest
                        continue;
                    }
                    if take < bytes.len() {
                        capped = true;
                        kill_group(pid);
                        ended.get_or_insert(Ended::Capped);
                        let note = format!("output cut at {} KiB (the runner's cap); the rest was not shown", job.output_cap / 1024);
                        send(&job.events, "note", serde_json::json!(note)).await;
                    }
                }
                None => {
                    pipes_open = false;
                    if status.is_some() {
                        break;
                    }
                }
            },
            s = child.wait(), if status.is_none() => {
                wall = start.elapsed();
                // Whatever the listing left behind goes with it.
                kill_group(pid);
                status = Some(s.ok());
                if !pipes_open {
                    break;
                }
                drain.as_mut().reset(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
            }
            why = interrupted(&mut job), if status.is_none() && ended.is_none() => {
                kill_group(pid);
                ended = Some(why);
            }
            _ = &mut deadline, if status.is_none() && ended.is_none() => {
                kill_group(pid);
                ended = Some(Ended::Timeout(timeout));
            }
            _ = &mut drain => break,
        }
    }
    reap_group(pid).await;
    let status = status.flatten();
    let mut exit = status.map_or_else(|| serde_json::json!({ "status": "unknown" }), status_json);
    exit["wall_ms"] = serde_json::json!(wall.as_secs_f64() * 1000.0);
    exit["pid"] = serde_json::json!(pid);
    if let Some(why) = ended {
        exit["ended"] = serde_json::json!(why.note());
    }
    send(&job.events, "exit", exit).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn utf8_split_across_chunks_is_kept_whole() {
        let mut d = super::Utf8::default();
        let bytes = "µs".as_bytes();
        assert_eq!(d.push(&bytes[..1]), "");
        assert_eq!(d.push(&bytes[1..]), "µs");
    }

    #[test]
    fn the_package_binary_is_found_in_cargo_messages() {
        let msgs = br#"{"reason":"compiler-artifact","package_id":"path+file:///w/listings/a#0.1.0","target":{"name":"dep"},"executable":null}
{"reason":"compiler-artifact","package_id":"path+file:///w/listings/a#0.1.0","target":{"name":"a"},"executable":"/w/target/debug/a"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(super::executable(msgs, "a"), Some("/w/target/debug/a".into()));
        assert_eq!(super::executable(msgs, "b"), None);
    }
}
