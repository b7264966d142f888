//! Echo server, prefork model: a master process opens the listening socket,
//! forks WORKERS copies of itself, and each worker serves one connection at
//! a time. The master only watches: it replaces a worker that dies and, when
//! a worker reports `quit`, stops the others and reaps them all.
//!
//! Protocol (the same for versus-02, -03 and -04), one line per request:
//!   anything      -> echoed back
//!   block <ms>    -> the handler sleeps <ms> (a blocking call), then "unblocked"
//!   panic         -> the handler panics
//!   abort         -> the handler calls std::process::abort()
//!   quit          -> "bye", and the whole server shuts down
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const WORKERS: usize = 4;
const MAX_REPLACEMENTS: usize = 8; // no fork storm if workers keep dying
const TIME_LIMIT: Duration = Duration::from_secs(60); // then shut down anyway
const QUIT: i32 = 3; // a worker's exit code meaning "the client said quit"

// ANCHOR: handle
/// What a connection asked for when it ended.
enum Ending {
    Closed,
    Quit,
}

/// Serves one connection, line by line. The same code runs in all three
/// servers; only what surrounds it differs.
fn handle(stream: TcpStream) -> std::io::Result<Ending> {
    let mut out = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["quit"] => {
                out.write_all(b"bye\n")?;
                return Ok(Ending::Quit);
            }
            ["panic"] => panic!("handler asked to panic"),
            ["abort"] => std::process::abort(),
            ["block", ms] => {
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
                out.write_all(b"unblocked\n")?;
            }
            _ => out.write_all(format!("{line}\n").as_bytes())?,
        }
    }
    Ok(Ending::Closed)
}
// ANCHOR_END: handle

// ANCHOR: worker
/// Forks one worker. In the child this never returns.
fn start_worker(listener: &TcpListener) -> Pid {
    // SAFETY: the master never starts a thread, so at fork time the process
    // has exactly one thread and the child inherits no lock held by a thread
    // that does not exist in it. The child then runs as an ordinary
    // single-threaded process and may use the allocator, stdio and so on.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            // SAFETY: prctl and alarm only change this process's own
            // settings. If the master dies, the kernel sends us SIGTERM; and
            // in any case SIGALRM ends us a little after the time limit.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                libc::alarm(TIME_LIMIT.as_secs() as u32 + 5);
            }
            // A panic must end this worker only, not unwind into the
            // master's code that this child inherited.
            let served = std::panic::catch_unwind(|| loop {
                let (stream, _) = listener.accept().expect("accept failed");
                if let Ok(Ending::Quit) = handle(stream) {
                    return;
                }
            });
            std::process::exit(if served.is_ok() { QUIT } else { 101 });
        }
    }
}
// ANCHOR_END: worker

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind");
    println!("listening on {}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap(); // before fork: no buffered copy in the children

    // ANCHOR: master
    let mut workers: Vec<Pid> = (0..WORKERS).map(|_| start_worker(&listener)).collect();
    let mut replaced = 0;
    let deadline = Instant::now() + TIME_LIMIT;
    loop {
        let died = match waitpid(None, Some(WaitPidFlag::WNOHANG)).expect("waitpid failed") {
            WaitStatus::StillAlive if Instant::now() > deadline => {
                eprintln!("master: time limit reached");
                break;
            }
            WaitStatus::StillAlive => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            WaitStatus::Exited(pid, QUIT) => {
                eprintln!("master: a worker received quit");
                workers.retain(|&w| w != pid);
                break;
            }
            WaitStatus::Exited(pid, code) => (pid, format!("exited with status {code}")),
            WaitStatus::Signaled(pid, sig, _) => (pid, format!("was killed by {sig}")),
            _ => continue,
        };
        workers.retain(|&w| w != died.0);
        eprintln!("master: worker pid {} {}; the other workers carry on", died.0, died.1);
        if replaced < MAX_REPLACEMENTS {
            workers.push(start_worker(&listener));
            replaced += 1;
            eprintln!("master: forked a replacement ({} workers)", workers.len());
        }
    }
    // Shut down: ask every remaining worker to stop, then reap each one.
    for &pid in &workers {
        let _ = kill(pid, Signal::SIGTERM);
    }
    for &pid in &workers {
        let _ = waitpid(pid, None);
    }
    eprintln!("master: stopped and reaped the {} other workers, exiting", workers.len());
    // ANCHOR_END: master
}
