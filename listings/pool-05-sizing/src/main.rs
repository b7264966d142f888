//! Throughput of the chapter's pool against its size, for a CPU-bound job
//! and for an I/O-bound one (simulated by sleeping), next to what Little's
//! law predicts. Bounded: fixed job counts, under ten seconds in all.
use pool_04_shutdown::ThreadPool;
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: jobs
/// Pure computation: `rounds` steps of a xorshift generator.
fn compute(rounds: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// How many rounds take about `target` on one core of this machine. Work is
/// a fixed number of rounds, not "spin until the clock says so": a thread
/// that waits for a core must not get credit for time it did not run.
fn calibrate(target: Duration) -> u64 {
    let mut rounds = 1_000;
    loop {
        let start = Instant::now();
        compute(rounds);
        let took = start.elapsed();
        if took >= Duration::from_millis(20) {
            return (rounds as f64 * target.as_secs_f64() / took.as_secs_f64()) as u64;
        }
        rounds *= 2;
    }
}

const COMPUTE: Duration = Duration::from_millis(1); // per job, both kinds
const WAIT: Duration = Duration::from_millis(10); // I/O-bound job: + 10 ms waiting
// ANCHOR_END: jobs

// ANCHOR: measure
/// Jobs per second when `jobs` copies of `job` go through a pool of `size`.
fn throughput(size: usize, jobs: u32, job: fn(u64), rounds: u64) -> f64 {
    let start = Instant::now();
    let pool = ThreadPool::new(size);
    for _ in 0..jobs {
        pool.execute(move || job(rounds));
    }
    drop(pool); // waits for every job
    jobs as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let rounds = calibrate(COMPUTE);
    let (c, w) = (COMPUTE.as_secs_f64(), WAIT.as_secs_f64());
    let best = (cores as f64 * (1.0 + w / c)).round();
    println!("{cores} CPUs; every job computes for about {} ms; the I/O-bound one then sleeps {} ms",
        COMPUTE.as_millis(), WAIT.as_millis());
    println!("sizing formula, utilisation 1: CPU-bound {cores} threads, I/O-bound {cores} x (1 + {}/{}) = {best}",
        WAIT.as_millis(), COMPUTE.as_millis());
    println!("model (Little's law, jobs/s = busy workers / time per job) in brackets");
    println!();
    for size in [1, 2, 4, 8, 16, best as usize, 32, 64] {
        let cpu = throughput(size, 300, |r| { compute(r); }, rounds);
        let io = throughput(size, 200, |r| { compute(r); thread::sleep(WAIT); }, rounds);
        let cpu_model = size.min(cores) as f64 / c;
        // I/O-bound: `size` jobs in service, each taking c + w; but never more
        // than the cores can compute.
        let io_model = (size as f64 / (c + w)).min(cores as f64 / c);
        println!("  {size:2} workers   CPU-bound {cpu:5.0}/s [{cpu_model:5.0}/s]   I/O-bound {io:5.0}/s [{io_model:5.0}/s]");
    }
}
// ANCHOR_END: measure
