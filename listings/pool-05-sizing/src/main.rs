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

/// How many rounds take about `target` of CPU time on one core of this
/// machine. Work is a fixed number of rounds, not "spin until the clock says
/// so": a thread that waits for a core must not get credit for time it did
/// not run. The calibration counts this thread's CPU time, not wall time, so
/// another program taking the core meanwhile does not shorten the jobs, and
/// it keeps the median of CALIBRATIONS tries.
fn calibrate(target: Duration) -> u64 {
    let mut tries: Vec<u64> = (0..CALIBRATIONS).map(|_| calibrate_once(target)).collect();
    tries.sort();
    tries[CALIBRATIONS / 2]
}

const CALIBRATIONS: usize = 5;

/// CPU time this thread has used so far.
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec for the call to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn calibrate_once(target: Duration) -> u64 {
    let mut rounds = 1_000;
    loop {
        let start = thread_cpu_time();
        compute(rounds);
        let took = thread_cpu_time() - start;
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
/// CPU time (user + system) this process has used so far, in seconds.
fn cpu_time() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the call to fill in.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Jobs per second when `jobs` copies of `job` go through a pool of `size`,
/// and how many cores the run kept busy on average (CPU time / wall time).
fn throughput(size: usize, jobs: u32, job: fn(u64), rounds: u64) -> (f64, f64) {
    let (start, cpu_start) = (Instant::now(), cpu_time());
    let pool = ThreadPool::new(size);
    for _ in 0..jobs {
        pool.execute(move || job(rounds));
    }
    drop(pool); // waits for every job
    let wall = start.elapsed().as_secs_f64();
    (jobs as f64 / wall, (cpu_time() - cpu_start) / wall)
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
    println!("measured jobs/s, [model: Little's law, busy workers / time per job], cores kept busy");
    println!();
    let mut worst = 0.0f64; // the largest measured / model ratio
    let (mut cpu_jobs, mut cpu_secs) = (0.0, 0.0); // CPU-bound runs: jobs, CPU time
    for size in [1, 2, 4, 8, 16, best as usize, 32, 64] {
        let (cpu, cpu_busy) = throughput(size, 300, |r| { compute(r); }, rounds);
        let (io, io_busy) = throughput(size, 200, |r| { compute(r); thread::sleep(WAIT); }, rounds);
        let cpu_model = size.min(cores) as f64 / c;
        // I/O-bound: `size` jobs in service, each taking c + w; but never more
        // than the cores can compute.
        let io_model = (size as f64 / (c + w)).min(cores as f64 / c);
        println!("  {size:2} workers   CPU-bound {cpu:5.0}/s [{cpu_model:5.0}/s] {cpu_busy:4.2}x   I/O-bound {io:5.0}/s [{io_model:5.0}/s] {io_busy:4.2}x");
        worst = worst.max(cpu / cpu_model).max(io / io_model);
        // jobs/s x (CPU seconds per second) gives CPU seconds per job.
        cpu_jobs += 300.0;
        cpu_secs += 300.0 * cpu_busy / cpu;
    }
    // The model is an upper bound: no pool finishes 1 ms jobs faster than
    // its cores can compute them. A figure above it means the jobs were
    // shorter than 1 ms, i.e. the calibration was disturbed.
    println!();
    let per_job = cpu_secs / cpu_jobs * 1e3;
    println!("CPU time per CPU-bound job, measured: {per_job:.2} ms (calibrated for {} ms)", COMPUTE.as_millis());
    let valid = worst <= TOLERANCE && (per_job - 1e3 * c).abs() <= 0.1 * 1e3 * c;
    let verdict = if valid { "valid" } else { "NOT VALID: the jobs did not cost what they were calibrated for; rerun on a quieter machine" };
    println!("largest measured / model: {worst:.2}x (a run is valid up to {TOLERANCE:.2}x, and with jobs within 10% of their CPU time): run {verdict}");
}

/// How far above the model a figure may come from timer noise alone.
const TOLERANCE: f64 = 1.05;
// ANCHOR_END: measure
