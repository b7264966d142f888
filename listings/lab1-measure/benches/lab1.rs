//! The full Lab 1 suite under criterion: `cargo bench -p lab1-measure`.
//! HTML report with plots: target/criterion/report/index.html
//!
//! Every benchmark uses `iter_custom`: the measured functions time their own
//! loop and leave out what must not be measured (building a runtime, forking
//! the echo partner and the warm-up round trips, preparing C strings). With
//! plain `iter`, that set-up would be paid, and timed, once per iteration.
//! Memory is not here: criterion measures time; `cargo run --release -p
//! lab1-measure` reports memory from /proc.

use criterion::{criterion_group, BenchmarkId, Criterion};
use lab1_measure::workload::{self, Job};
use lab1_measure::{create, switch};
use std::time::{Duration, Instant};

fn creation(c: &mut Criterion) {
    let mut g = c.benchmark_group("creation");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("process/fork+exit+wait", |b| b.iter_custom(create::fork_exit_wait));
    g.bench_function("process/fork+exec(true)+wait", |b| b.iter_custom(|n| create::fork_exec_wait("/bin/true", n)));
    g.bench_function("process/posix_spawn(true)+wait", |b| b.iter_custom(|n| create::posix_spawn_wait("/bin/true", n)));
    g.bench_function("process/Command(true).status", |b| b.iter_custom(|n| create::command_status("/bin/true", n)));
    g.bench_function("thread/spawn+join", |b| b.iter_custom(create::thread_spawn_join));
    g.bench_function("thread/scope", |b| b.iter_custom(create::thread_scope));
    let ct = create::current_thread_runtime();
    let mt = create::multi_thread_runtime(2);
    g.bench_function("task/spawn+await (current-thread)", |b| b.iter_custom(|n| create::task_spawn_await(&ct, n)));
    g.bench_function("task/spawn+await (multi-thread)", |b| b.iter_custom(|n| create::task_spawn_await(&mt, n)));
    let pool = pool_04_shutdown::ThreadPool::new(2);
    g.bench_function("pool/execute+wait (naive pool, 2 workers)", |b| b.iter_custom(|n| lab1_measure::pool::round_trip(&pool, n)));
    g.finish();
}

fn context_switch(c: &mut Criterion) {
    let cpu = switch::first_allowed_cpu();
    let mut g = c.benchmark_group("switch-round-trip");
    g.measurement_time(Duration::from_secs(3));
    for (name, pin) in [("pinned", Some(cpu)), ("unpinned", None)] {
        g.bench_function(BenchmarkId::new("pipe/processes", name), |b| b.iter_custom(|n| switch::pipe_pingpong_processes(n, pin)));
        g.bench_function(BenchmarkId::new("pipe/threads", name), |b| b.iter_custom(|n| switch::pipe_pingpong_threads(n, pin)));
        g.bench_function(BenchmarkId::new("condvar/threads", name), |b| b.iter_custom(|n| switch::condvar_pingpong(n, pin)));
        g.bench_function(BenchmarkId::new("channel/threads", name), |b| b.iter_custom(|n| switch::channel_pingpong(n, pin)));
    }
    let ct = create::current_thread_runtime();
    g.bench_function("tokio-mpsc/tasks", |b| b.iter_custom(|n| switch::task_pingpong(&ct, n)));
    g.finish();
}

fn workloads(c: &mut Criterion) {
    let rt = create::multi_thread_runtime(2);
    // CPU: count the primes below 600 000. I/O: 64 waits of 2 ms. Both are
    // the quick mode's full-budget jobs.
    let jobs = [
        ("workload-cpu", Job::Cpu { limit: 600_000 }, [1usize, 2, 4, 16]),
        ("workload-io", Job::Io { waits: 64, wait: Duration::from_millis(2) }, [1, 4, 16, 64]),
    ];
    for (name, job, units_list) in jobs {
        let mut g = c.benchmark_group(name);
        g.sample_size(10).measurement_time(Duration::from_secs(4));
        for units in units_list {
            // One job takes milliseconds, so timing each whole job is
            // accurate; iter_custom keeps the call shape of the others.
            g.bench_with_input(BenchmarkId::new("processes", units), &units, |b, &u| b.iter_custom(|n| timed(n, || workload::run_processes(job, u))));
            g.bench_with_input(BenchmarkId::new("threads", units), &units, |b, &u| b.iter_custom(|n| timed(n, || workload::run_threads(job, u))));
            g.bench_with_input(BenchmarkId::new("tasks", units), &units, |b, &u| b.iter_custom(|n| timed(n, || workload::run_tasks(&rt, job, u))));
        }
        g.finish();
    }
}

fn timed(n: u64, mut f: impl FnMut() -> u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    start.elapsed()
}

criterion_group!(benches, creation, context_switch, workloads);

// What `criterion_main!` would write, plus where to look afterwards.
fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!("\nHTML report with plots: target/criterion/report/index.html (open it in a browser)");
}
