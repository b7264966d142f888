//! What happens to a pool when it is dropped, in two broken versions:
//! without any `Drop`, and with a `Drop` that joins the workers but never
//! closes the queue. Each runs as a child process of this one (the same
//! program, started with a scenario name), so that a child which never ends
//! can be inspected and killed after a timeout. Both children are reaped;
//! about three seconds in all.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send + 'static>;

const WORKERS: usize = 2;
const JOBS: usize = 4;
const JOB_TIME: Duration = Duration::from_millis(300);

// ANCHOR: pool
struct ThreadPool {
    workers: Vec<thread::JoinHandle<()>>,
    sender: mpsc::Sender<Job>,
}

impl ThreadPool {
    fn new(size: usize) -> ThreadPool {
        let (sender, receiver) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|id| {
                let queue = Arc::clone(&queue);
                thread::Builder::new()
                    .name(format!("pool-worker-{id}"))
                    .spawn(move || loop {
                        let next = queue.lock().unwrap().recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    })
                    .unwrap()
            })
            .collect();
        ThreadPool { workers, sender }
    }

    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.sender.send(Box::new(job)).unwrap();
    }
}
// ANCHOR_END: pool

// ANCHOR: join_only
/// The tempting Drop: wait for every worker. It never returns. `drop`
/// runs *before* the fields are dropped, so `self.sender` is still alive,
/// the queue is still open, and every idle worker waits in `recv` forever.
struct JoinOnDrop(ThreadPool);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        println!("drop: joining {} workers", self.0.workers.len());
        for worker in self.0.workers.drain(..) {
            worker.join().unwrap();
        }
        println!("drop: all workers joined"); // never printed
    }
}
// ANCHOR_END: join_only

// ANCHOR: child
fn queue_jobs(pool: &ThreadPool) {
    for _ in 0..JOBS {
        pool.execute(|| {
            thread::sleep(JOB_TIME);
            println!("a job finished");
        });
    }
}

/// The child process: one scenario, then `main` returns.
fn child(scenario: &str) {
    match scenario {
        "no-drop" => {
            let pool = ThreadPool::new(WORKERS);
            queue_jobs(&pool);
            drop(pool); // drops the Sender: workers are detached, not stopped
            println!("main: pool dropped, returning from main");
        }
        "join-only" => {
            let pool = JoinOnDrop(ThreadPool::new(WORKERS));
            queue_jobs(&pool.0);
            drop(pool);
            println!("main: pool dropped, returning from main"); // never reached
        }
        other => panic!("unknown scenario {other}"),
    }
}
// ANCHOR_END: child

// ANCHOR: parent
/// Name and state ("S (sleeping)") of every thread of process `pid`.
fn threads_of(pid: u32) -> Vec<String> {
    let mut tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    tids.sort();
    tids.iter()
        .map(|tid| {
            let read = |f: &str| std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/{f}")).unwrap_or_default();
            let state = read("status").lines().find_map(|l| l.strip_prefix("State:")).unwrap_or("?").trim().to_string();
            format!("{:14} {state}", read("comm").trim())
        })
        .collect()
}

fn run_scenario(scenario: &str, timeout: Duration) {
    println!("--- scenario {scenario}: {JOBS} jobs of {} ms queued on {WORKERS} workers, then the pool is dropped",
        JOB_TIME.as_millis());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(scenario)
        .stdout(Stdio::piped())
        .spawn()
        .expect("could not start the child");
    let pid = child.id();
    // Copy the child's lines as they come, on a thread of our own.
    let stdout = child.stdout.take().unwrap();
    let echo = thread::spawn(move || {
        let mut finished = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            finished += (line == "a job finished") as usize;
            println!("  child | {line}");
        }
        finished
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > timeout {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let verdict = match status {
        Some(status) => format!("  child exited by itself ({status})"),
        None => {
            println!("  child still running after {} ms; its threads:", timeout.as_millis());
            for t in threads_of(pid) {
                println!("    {t}");
            }
            child.kill().unwrap();
            let status = child.wait().unwrap(); // reap it
            format!("  killed it ({status})")
        }
    };
    // The child is gone, so its pipe ends: let the echo thread print the
    // child's last lines before the verdict, however late it was scheduled.
    let finished = echo.join().unwrap();
    println!("{verdict}");
    println!("  jobs finished: {finished} of {JOBS}");
}

fn main() {
    if let Some(scenario) = std::env::args().nth(1) {
        return child(&scenario);
    }
    run_scenario("no-drop", Duration::from_secs(5));
    run_scenario("join-only", Duration::from_millis(1500));
}
// ANCHOR_END: parent
