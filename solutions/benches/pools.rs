//! Lab 2, "Then measure it" and step 7: the reference pool against the
//! chapter's naive pool, the `threadpool` crate, rayon, one `thread::spawn`
//! per job, and step 7's pools, one design change at a time.
//!
//! `cargo bench -p solutions --bench pools`
//!
//! - `tiny_jobs/*`: 10,000 jobs that each bump an atomic counter, submitted
//!   in a burst; the iteration ends when the last one has run. Reported per
//!   job (criterion's "thrpt" line is jobs per second). This is the pool's
//!   per-job overhead: boxing, queueing, waking a worker.
//! - `round_trip/*`: submit one job that returns a number and wait for it,
//!   on an idle pool. This is the latency a caller sees for a small job.
//! - `nested_jobs/*`: 100 jobs that each submit 100 tiny jobs from inside
//!   the pool; the iteration ends when the last of the 10,000 has run. Here
//!   a pool whose workers keep the jobs they submit can avoid the shared
//!   queue (rayon, step 7's deques).
//! - `oversubscribed/*`: `tiny_jobs` again with 4 workers per CPU, where a
//!   worker that spins takes a CPU from one that has work.
//!
//! Every pool has as many workers as the machine has CPUs (except in
//! `oversubscribed`), and is built once, outside the timed loop. A thread
//! per job is measured in the first two groups only.
//!
//! Step 7's pools (`src/lab2/step7.md`), in the order the page makes them:
//! `channel` (the reference with crossbeam's channel instead of the locked
//! receiver, `fast/channel.rs`), `deques` (per-worker deques with stealing
//! and a sleep of its own, looking only as long as the channel's `recv`
//! does before it sleeps: `fast::Pool<0>`), `fast` (the same, looking for
//! up to 100 µs: `fast::ThreadPool`, the step's reference).

use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use criterion::measurement::WallTime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

// Step 7's pools are not part of the `solutions` library, whose lib.rs must
// stay a std-only drop-in for the exercise: the bench compiles them in.
#[allow(dead_code)]
#[path = "../fast/lib.rs"]
mod fast;
#[allow(dead_code)]
#[path = "../fast/channel.rs"]
mod channel;

const JOBS: usize = 10_000;
/// `nested_jobs`: PARENTS jobs, each submitting JOBS / PARENTS tiny ones.
const PARENTS: usize = 100;

fn cpus() -> usize {
    thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

type BoxedJob = Box<dyn FnOnce() + Send + 'static>;

/// What the bench does with a pool: submit a boxed job, and one round trip.
trait Pool: Send + Sync + 'static {
    fn run(&self, job: BoxedJob);
    fn round_trip(&self) -> u64;
}

/// The naive pool and threadpool have no results: a channel per job, as a
/// caller of theirs would do by hand.
fn by_hand(run: impl FnOnce(BoxedJob)) -> u64 {
    let (tx, rx) = mpsc::sync_channel(1);
    run(Box::new(move || tx.send(42u64).unwrap()));
    rx.recv().unwrap()
}

impl Pool for solutions::ThreadPool {
    fn run(&self, job: BoxedJob) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        self.spawn(|| 42u64).join().unwrap()
    }
}

impl Pool for pool_04_shutdown::ThreadPool {
    fn run(&self, job: BoxedJob) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        by_hand(|job| self.execute(job))
    }
}

impl Pool for threadpool::ThreadPool {
    fn run(&self, job: BoxedJob) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        by_hand(|job| self.execute(job))
    }
}

impl Pool for channel::ThreadPool {
    fn run(&self, job: BoxedJob) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        self.spawn(|| 42u64).join().unwrap()
    }
}

impl<const SPIN_MICROS: u64> Pool for fast::Pool<SPIN_MICROS> {
    fn run(&self, job: BoxedJob) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        self.spawn(|| 42u64).join().unwrap()
    }
}

/// Every pool the groups compare (rayon and a thread per job are measured
/// apart: they have no `execute`), as (name, constructor).
#[allow(clippy::type_complexity)]
fn pools() -> Vec<(&'static str, fn(usize) -> Arc<dyn Pool>)> {
    vec![
        ("reference", |n| Arc::new(solutions::ThreadPool::new(n))),
        ("naive", |n| Arc::new(pool_04_shutdown::ThreadPool::new(n))),
        ("threadpool", |n| Arc::new(threadpool::ThreadPool::new(n))),
        ("channel", |n| Arc::new(channel::ThreadPool::new(n))),
        ("deques", |n| Arc::new(fast::Pool::<0>::new(n))),
        ("fast", |n| Arc::new(fast::ThreadPool::new(n))),
    ]
}

/// A job that counts itself and, if it is the last of `JOBS`, says so.
fn tiny_job(count: &Arc<AtomicUsize>, done: &mpsc::Sender<()>) -> impl FnOnce() + Send + 'static {
    let (count, done) = (Arc::clone(count), done.clone());
    move || {
        if count.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
            done.send(()).unwrap();
        }
    }
}

/// Submits JOBS tiny jobs from this thread and waits until the last has run.
fn burst(pool: &dyn Pool) {
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for _ in 0..JOBS {
        pool.run(Box::new(tiny_job(&count, &done_tx)));
    }
    done_rx.recv().unwrap();
}

/// Submits PARENTS jobs that each submit JOBS / PARENTS tiny jobs to the
/// same pool, and waits until the last tiny job has run.
fn nested(pool: &Arc<dyn Pool>) {
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for _ in 0..PARENTS {
        let (inner, count, done_tx) = (Arc::clone(pool), Arc::clone(&count), done_tx.clone());
        pool.run(Box::new(move || {
            for _ in 0..JOBS / PARENTS {
                inner.run(Box::new(tiny_job(&count, &done_tx)));
            }
        }));
    }
    drop(done_tx);
    done_rx.recv().unwrap();
}

fn rayon_pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap()
}

/// rayon's version of `burst`. `scope` runs its closure on a worker of
/// the pool, so these jobs are pushed onto that worker's own deque; it
/// returns once every job spawned in it has run.
fn rayon_burst(rayon: &rayon::ThreadPool) {
    let count = AtomicUsize::new(0);
    rayon.scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    assert_eq!(count.load(Ordering::Relaxed), JOBS);
}

/// rayon's version of `nested`.
fn rayon_nested(rayon: &rayon::ThreadPool) {
    let count = AtomicUsize::new(0);
    rayon.scope(|s| {
        for _ in 0..PARENTS {
            s.spawn(|s| {
                for _ in 0..JOBS / PARENTS {
                    s.spawn(|_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    assert_eq!(count.load(Ordering::Relaxed), JOBS);
}

fn burst_group(group: &mut BenchmarkGroup<'_, WallTime>, n: usize, job: fn(&Arc<dyn Pool>)) {
    for (name, make) in pools() {
        let pool = make(n);
        group.bench_function(BenchmarkId::new(name, n), |b| b.iter(|| job(&pool)));
        // `nested`'s last parent job may still hold a clone: let it go, so
        // the pool is dropped here and not on one of its own workers.
        while Arc::strong_count(&pool) > 1 {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

fn tiny_jobs(c: &mut Criterion) {
    let n = cpus();
    let mut group = c.benchmark_group("tiny_jobs");
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    burst_group(&mut group, n, |pool| burst(&**pool));

    let rayon = rayon_pool(n);
    group.bench_function(BenchmarkId::new("rayon_scope", n), |b| b.iter(|| rayon_burst(&rayon)));
    drop(rayon);

    group.sample_size(10);
    group.bench_function(BenchmarkId::new("thread_per_job", n), |b| {
        b.iter(|| {
            let count = Arc::new(AtomicUsize::new(0));
            for _ in 0..JOBS {
                let count = Arc::clone(&count);
                thread::spawn(move || {
                    count.fetch_add(1, Ordering::Relaxed);
                })
                .join()
                .unwrap();
            }
        })
    });
    group.finish();
}

fn round_trip(c: &mut Criterion) {
    let n = cpus();
    let mut group = c.benchmark_group("round_trip");
    group.sample_size(50).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));

    for (name, make) in pools() {
        let pool = make(n);
        group.bench_function(name, |b| b.iter(|| pool.round_trip()));
    }

    let rayon = rayon_pool(n);
    group.bench_function("rayon_scope", |b| {
        b.iter(|| {
            let mut out = 0u64;
            rayon.scope(|s| s.spawn(|_| out = 42));
            out
        })
    });
    drop(rayon);

    group.bench_function("thread_spawn", |b| b.iter(|| thread::spawn(|| 42u64).join().unwrap()));
    group.finish();
}

fn nested_jobs(c: &mut Criterion) {
    let n = cpus();
    let mut group = c.benchmark_group("nested_jobs");
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    burst_group(&mut group, n, nested);
    let rayon = rayon_pool(n);
    group.bench_function(BenchmarkId::new("rayon_scope", n), |b| b.iter(|| rayon_nested(&rayon)));
    group.finish();
}

fn oversubscribed(c: &mut Criterion) {
    let n = 4 * cpus();
    let mut group = c.benchmark_group("oversubscribed");
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    burst_group(&mut group, n, |pool| burst(&**pool));
    let rayon = rayon_pool(n);
    group.bench_function(BenchmarkId::new("rayon_scope", n), |b| b.iter(|| rayon_burst(&rayon)));
    group.finish();
}

criterion_group!(benches, tiny_jobs, round_trip, nested_jobs, oversubscribed);
criterion_main!(benches);
