//! Lab 2, "Then measure it": the reference pool against the chapter's naive
//! pool, the `threadpool` crate, rayon and one `thread::spawn` per job.
//!
//! `cargo bench -p solutions --bench pools`
//!
//! - `tiny_jobs/*`: 10,000 jobs that each bump an atomic counter, submitted
//!   in a burst; the iteration ends when the last one has run. Reported per
//!   job (criterion's "thrpt" line is jobs per second). This is the pool's
//!   per-job overhead: boxing, queueing, waking a worker.
//! - `round_trip/*`: submit one job that returns a number and wait for it,
//!   on an idle pool. This is the latency a caller sees for a small job.
//!
//! Every pool has as many workers as the machine has CPUs, and is built
//! once, outside the timed loop.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

const JOBS: usize = 10_000;

fn workers() -> usize {
    thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
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

/// Runs `submit` for JOBS tiny jobs and waits until the last one has run.
fn burst(mut submit: impl FnMut(Box<dyn FnOnce() + Send + 'static>)) {
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for _ in 0..JOBS {
        submit(Box::new(tiny_job(&count, &done_tx)));
    }
    done_rx.recv().unwrap();
}

fn tiny_jobs(c: &mut Criterion) {
    let n = workers();
    let mut group = c.benchmark_group("tiny_jobs");
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));

    let reference = solutions::ThreadPool::new(n);
    group.bench_function(BenchmarkId::new("reference", n), |b| b.iter(|| burst(|job| reference.execute(job))));
    drop(reference);

    let naive = pool_04_shutdown::ThreadPool::new(n);
    group.bench_function(BenchmarkId::new("naive", n), |b| b.iter(|| burst(|job| naive.execute(job))));
    drop(naive);

    let tp = threadpool::ThreadPool::new(n);
    group.bench_function(BenchmarkId::new("threadpool", n), |b| b.iter(|| burst(|job| tp.execute(job))));
    drop(tp);

    let rayon = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    group.bench_function(BenchmarkId::new("rayon_scope", n), |b| {
        b.iter(|| {
            let count = AtomicUsize::new(0);
            // scope returns once every job spawned in it has run.
            rayon.scope(|s| {
                for _ in 0..JOBS {
                    s.spawn(|_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
            assert_eq!(count.load(Ordering::Relaxed), JOBS);
        })
    });
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
    let n = workers();
    let mut group = c.benchmark_group("round_trip");
    group.sample_size(50).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));

    let reference = solutions::ThreadPool::new(n);
    group.bench_function("reference", |b| b.iter(|| reference.spawn(|| 42u64).join().unwrap()));
    drop(reference);

    // The naive pool and threadpool have no results: a channel per job, as
    // a caller of theirs would do by hand.
    let naive = pool_04_shutdown::ThreadPool::new(n);
    group.bench_function("naive", |b| {
        b.iter(|| {
            let (tx, rx) = mpsc::sync_channel(1);
            naive.execute(move || tx.send(42u64).unwrap());
            rx.recv().unwrap()
        })
    });
    drop(naive);

    let tp = threadpool::ThreadPool::new(n);
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            let (tx, rx) = mpsc::sync_channel(1);
            tp.execute(move || tx.send(42u64).unwrap());
            rx.recv().unwrap()
        })
    });
    drop(tp);

    let rayon = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
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

criterion_group!(benches, tiny_jobs, round_trip);
criterion_main!(benches);
