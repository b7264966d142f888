//! Lab 2, "Then measure it" and step 7: the reference pool against the
//! chapter's naive pool, the `threadpool` crate, rayon, one `thread::spawn`
//! per job, and step 7's pools, one design change at a time.
//!
//! `cargo bench -p solutions --bench pools`
//!
//! - `tiny_jobs/*`: 10,000 jobs that each bump an atomic counter, submitted
//!   in a burst; the iteration ends when the last one has run. Reported per
//!   job (criterion's "thrpt" line is jobs per second). This is the pool's
//!   per-job overhead: boxing, queueing, waking a worker. Each job is a
//!   closure that holds an `Arc` and a `Sender` (three words), handed to
//!   the pool as it is, as a caller would (until December 2026 the bench
//!   boxed it first, so every pool paid a second allocation per job).
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
//! per job is measured in the first two groups only. rayon is measured two
//! ways: `rayon_spawn` takes its jobs from the bench's thread through
//! `ThreadPool::spawn`, like every other pool's `execute`; `rayon_scope`
//! submits them from one of its own workers (`scope`), its fastest path.
//!
//! Step 7's pools (`src/lab2/step7.md`), in the order the page makes them:
//! `channel` (the reference with crossbeam's channel instead of the locked
//! receiver, `fast/channel.rs`), `deques` (per-worker deques with stealing
//! and a sleep of its own, looking only as long as the channel's `recv`
//! does before it sleeps: `fast_pool::Pool<0, 0, false, 0>`), `spin` (the
//! same, looking for up to 100 µs: `Pool<SPIN_MICROS, 0, false, 0>`),
//! `join_spin` (the same, with `join` looking for its result for up to
//! 30 µs before it blocks: `Pool<SPIN_MICROS, JOIN_SPIN_MICROS, false,
//! 0>`), `inline` (the same, with small jobs stored in the queue instead of
//! boxed: `Pool<SPIN_MICROS, JOIN_SPIN_MICROS, true, 0>`), `fast` (the
//! same, with a worker that has caught up with a submitter pausing 3 µs to
//! let jobs pile up: `fast_pool::ThreadPool`, the step's reference).

use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use criterion::measurement::WallTime;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

// Step 7's first design is not a crate of its own (it is one change to the
// reference): the bench compiles it in. The later designs are `fast_pool`.
#[allow(dead_code)]
#[path = "../fast/channel.rs"]
mod channel;

const JOBS: usize = 10_000;
/// `nested_jobs`: PARENTS jobs, each submitting JOBS / PARENTS tiny ones.
const PARENTS: usize = 100;

fn cpus() -> usize {
    thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// What the bench does with a pool: submit a job, and one round trip.
/// `run` takes the closure itself, as a caller's `execute` does: a pool
/// that boxes jobs boxes it once, and one that need not box, does not.
trait Pool: Send + Sync + Sized + 'static {
    fn run<F: FnOnce() + Send + 'static>(&self, job: F);
    fn round_trip(&self) -> u64;
}

/// For pools without results: a channel per job, as a caller of theirs
/// would do by hand.
fn by_hand(pool: &impl Pool) -> u64 {
    let (tx, rx) = mpsc::sync_channel(1);
    pool.run(move || tx.send(42u64).unwrap());
    rx.recv().unwrap()
}

impl Pool for solutions::ThreadPool {
    fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        self.spawn(|| 42u64).join().unwrap()
    }
}

impl Pool for pool_04_shutdown::ThreadPool {
    fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        by_hand(self)
    }
}

impl Pool for threadpool::ThreadPool {
    fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        by_hand(self)
    }
}

/// rayon's own `execute`: `spawn` queues a `'static` job from any thread.
impl Pool for rayon::ThreadPool {
    fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.spawn(job)
    }
    fn round_trip(&self) -> u64 {
        by_hand(self)
    }
}

impl Pool for channel::ThreadPool {
    fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        self.spawn(|| 42u64).join().unwrap()
    }
}

impl<const SPIN: u64, const JOIN_SPIN: u64, const INLINE: bool, const GATHER: u64> Pool
    for fast_pool::Pool<SPIN, JOIN_SPIN, INLINE, GATHER>
{
    fn run<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.execute(job)
    }
    fn round_trip(&self) -> u64 {
        self.spawn(|| 42u64).join().unwrap()
    }
}

/// Something measured on each pool of [`each_pool`] in turn.
trait OnEachPool {
    fn on<P: Pool>(&mut self, name: &str, pool: Arc<P>);
}

/// Hands every pool the groups compare to `bench`, each built with `n`
/// workers. (rayon's `scope` and a thread per job are measured apart: they
/// have no `execute`.)
fn each_pool(n: usize, bench: &mut impl OnEachPool) {
    use fast_pool::{Pool as Step7, JOIN_SPIN_MICROS as JOIN, SPIN_MICROS as SPIN};
    bench.on("reference", Arc::new(solutions::ThreadPool::new(n)));
    bench.on("naive", Arc::new(pool_04_shutdown::ThreadPool::new(n)));
    bench.on("threadpool", Arc::new(threadpool::ThreadPool::new(n)));
    bench.on("rayon_spawn", Arc::new(rayon_pool(n)));
    bench.on("channel", Arc::new(channel::ThreadPool::new(n)));
    bench.on("deques", Arc::new(Step7::<0, 0, false, 0>::new(n)));
    bench.on("spin", Arc::new(Step7::<SPIN, 0, false, 0>::new(n)));
    bench.on("join_spin", Arc::new(Step7::<SPIN, JOIN, false, 0>::new(n)));
    bench.on("inline", Arc::new(Step7::<SPIN, JOIN, true, 0>::new(n)));
    bench.on("fast", Arc::new(fast_pool::ThreadPool::new(n)));
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
fn burst(pool: &Arc<impl Pool>) {
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for _ in 0..JOBS {
        pool.run(tiny_job(&count, &done_tx));
    }
    done_rx.recv().unwrap();
}

/// Submits PARENTS jobs that each submit JOBS / PARENTS tiny jobs to the
/// same pool, and waits until the last tiny job has run.
fn nested(pool: &Arc<impl Pool>) {
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for _ in 0..PARENTS {
        let (inner, count, done_tx) = (Arc::clone(pool), Arc::clone(&count), done_tx.clone());
        pool.run(move || {
            for _ in 0..JOBS / PARENTS {
                inner.run(tiny_job(&count, &done_tx));
            }
        });
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

/// One of the burst groups: `nested` or not, on each pool.
struct Bursts<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    n: usize,
    nested: bool,
}

impl OnEachPool for Bursts<'_, '_> {
    fn on<P: Pool>(&mut self, name: &str, pool: Arc<P>) {
        let nested_jobs = self.nested;
        self.group.bench_function(BenchmarkId::new(name, self.n), |b| {
            b.iter(|| if nested_jobs { nested(&pool) } else { burst(&pool) })
        });
        // `nested`'s last parent job may still hold a clone: let it go, so
        // the pool is dropped here and not on one of its own workers.
        while Arc::strong_count(&pool) > 1 {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

struct RoundTrips<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
}

impl OnEachPool for RoundTrips<'_, '_> {
    fn on<P: Pool>(&mut self, name: &str, pool: Arc<P>) {
        self.group.bench_function(name, |b| b.iter(|| pool.round_trip()));
    }
}

fn tiny_jobs(c: &mut Criterion) {
    let n = cpus();
    let mut group = c.benchmark_group("tiny_jobs");
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    each_pool(n, &mut Bursts { group: &mut group, n, nested: false });

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
    each_pool(n, &mut RoundTrips { group: &mut group });

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
    each_pool(n, &mut Bursts { group: &mut group, n, nested: true });
    let rayon = rayon_pool(n);
    group.bench_function(BenchmarkId::new("rayon_scope", n), |b| b.iter(|| rayon_nested(&rayon)));
    group.finish();
}

fn oversubscribed(c: &mut Criterion) {
    let n = 4 * cpus();
    let mut group = c.benchmark_group("oversubscribed");
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    each_pool(n, &mut Bursts { group: &mut group, n, nested: false });
    let rayon = rayon_pool(n);
    group.bench_function(BenchmarkId::new("rayon_scope", n), |b| b.iter(|| rayon_burst(&rayon)));
    group.finish();
}

criterion_group!(benches, tiny_jobs, round_trip, nested_jobs, oversubscribed);
criterion_main!(benches);
