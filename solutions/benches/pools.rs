//! Lab 2, "Then measure it" and step 7: the reference pool against the
//! chapter's naive pool, the `threadpool` crate, rayon, one `thread::spawn`
//! per job, and step 7's pools, one design change at a time.
//!
//! `cargo bench -p solutions --bench pools`
//!
//! (The pools and the bursts are in `workload/`, shared with the
//! `interleaved` bench, which runs the tiny-jobs burst on every pool in
//! turn, round after round.)
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
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod workload;
use workload::*;

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
