//! Step 6: under pressure. Many submitters at once, jobs that submit jobs,
//! thousands of tiny jobs, panics mixed in: nothing lost, nothing stuck.

mod common;

use common::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The pressure tests do real work; give them more time on a loaded machine.
const PRESSURE_LIMIT: Duration = Duration::from_secs(20);
const PRESSURE_WAIT: Duration = Duration::from_secs(10);

const LOST_HINT: &str = "every job given to the pool must run exactly once, whoever submits it and however \
     many arrive at once";

#[test]
fn step6_many_threads_submit_at_once() {
    graded_within(PRESSURE_LIMIT, |t| {
        let pool = t.pool(4);
        let done = Arc::new(AtomicUsize::new(0));
        t.stage(
            "submitting 8 x 2000 jobs from 8 threads at once",
            "execute takes &self and may be called from many threads at the same time; it must not block for \
             long or lose a job",
        );
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        let done = Arc::clone(&done);
                        pool.execute(move || {
                            done.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        t.stage("waiting for 16000 jobs from 8 submitters", LOST_HINT);
        let all = eventually(PRESSURE_WAIT, || done.load(Ordering::Relaxed) == 16_000);
        check(all, || {
            format!(
                "only {} of 16000 jobs submitted by 8 threads at once ran (waited {PRESSURE_WAIT:?})",
                done.load(Ordering::Relaxed)
            )
        });
    });
}

#[test]
fn step6_jobs_submit_jobs() {
    graded_within(PRESSURE_LIMIT, |t| {
        // Two workers, each running a job that submits 200 more, each of
        // which submits one more: the workers are busy submitting while the
        // queue grows. A queue that makes a submitter wait for room deadlocks.
        let pool = Arc::new(t.pool(2));
        let done = Arc::new(AtomicUsize::new(0));
        t.stage(
            "running 2 jobs that each submit 200 jobs, each submitting one more",
            "a job may submit jobs to its own pool; execute must never wait for a worker to become free \
             (with a bounded queue, workers blocked in send cannot empty it: use an unbounded channel)",
        );
        for _ in 0..2 {
            let parent_pool = Arc::clone(&pool);
            let done = Arc::clone(&done);
            pool.execute(move || {
                for _ in 0..200 {
                    let child_pool = Arc::clone(&parent_pool);
                    let done = Arc::clone(&done);
                    parent_pool.execute(move || {
                        let done2 = Arc::clone(&done);
                        child_pool.execute(move || {
                            done2.fetch_add(1, Ordering::SeqCst);
                        });
                        done.fetch_add(1, Ordering::SeqCst);
                    });
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        let total = 2 + 2 * 200 * 2;
        let all = eventually(PRESSURE_WAIT, || done.load(Ordering::SeqCst) == total);
        check(all, || {
            format!(
                "only {} of {total} jobs ran when jobs submitted jobs: a submission from inside a job was lost \
                 or is stuck",
                done.load(Ordering::SeqCst)
            )
        });
        // The jobs held clones of the Arc; wait until they have all been
        // dropped so the pool is dropped here, not on one of its own workers.
        t.stage("waiting for the finished jobs to be dropped", "a job's closure must be dropped once it has run");
        check(eventually(PRESSURE_WAIT, || Arc::strong_count(&pool) == 1), || {
            "jobs that finished still hold their captured values: drop each job after running it".into()
        });
        let pool = Arc::try_unwrap(pool).ok().expect("the test holds the last reference");
        t.shutdown(pool, "dropping the pool after the nested jobs", DROP_HINT);
    });
}

#[test]
fn step6_thousands_of_tiny_jobs() {
    graded_within(PRESSURE_LIMIT, |t| {
        let pool = t.pool(4);
        let sum = Arc::new(AtomicU64::new(0));
        t.stage("submitting 20000 tiny jobs", LOST_HINT);
        for i in 0..20_000u64 {
            let sum = Arc::clone(&sum);
            pool.execute(move || {
                sum.fetch_add(i, Ordering::Relaxed);
            });
        }
        t.stage("spawning 5000 tiny jobs and joining them", LOST_HINT);
        let handles: Vec<_> = (0..5_000u64).map(|i| pool.spawn(move || i * 2)).collect();
        let mut joined = 0u64;
        for (i, handle) in handles.into_iter().enumerate() {
            match handle.join() {
                Ok(v) => {
                    check(v == i as u64 * 2, || format!("tiny job {i} returned {} through its handle", v));
                    joined += v;
                }
                Err(e) => fail(format!("tiny job {i} gave Err({}) but did not panic", payload_text(&*e))),
            }
        }
        check(joined == (0..5_000u64).map(|i| i * 2).sum(), || "the spawned tiny jobs' results do not add up".into());
        t.shutdown(pool, "dropping the pool after 25000 tiny jobs", DROP_HINT);
        let expected: u64 = (0..20_000u64).sum();
        let got = sum.load(Ordering::Relaxed);
        check(got == expected, || {
            format!("after 20000 tiny jobs and the pool's drop, their sum is {got}, expected {expected}: jobs were lost")
        });
    });
}

#[test]
fn step6_results_and_panics_from_many_threads() {
    graded_within(PRESSURE_LIMIT, |t| {
        let pool = t.pool(3);
        t.stage(
            "4 threads each spawning 300 jobs (every 7th panics) and joining them",
            "spawn and join may be used from many threads at once; each handle gets its own job's result or panic",
        );
        let pool = &*pool;
        let problems: Vec<String> = thread::scope(|s| {
            let workers: Vec<_> = (0..4u64)
                .map(|submitter| {
                    s.spawn(move || {
                        let handles: Vec<_> = (0..300u64)
                            .map(|i| {
                                pool.spawn(move || {
                                    if i % 7 == 0 {
                                        panic!("step 6: job {submitter}/{i} panics on purpose");
                                    }
                                    submitter * 1000 + i
                                })
                            })
                            .collect();
                        let mut problems = Vec::new();
                        for (i, handle) in handles.into_iter().enumerate() {
                            let i = i as u64;
                            match (i % 7 == 0, handle.join()) {
                                (false, Ok(v)) if v == submitter * 1000 + i => {}
                                (true, Err(p)) if payload_text(&*p) == format!("step 6: job {submitter}/{i} panics on purpose") => {}
                                (_, Ok(v)) => problems.push(format!("job {submitter}/{i} gave Ok({v})")),
                                (_, Err(p)) => problems.push(format!("job {submitter}/{i} gave Err({})", payload_text(&*p))),
                            }
                        }
                        problems
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|_| vec!["a submitting thread panicked".into()])).collect()
        });
        check(problems.is_empty(), || {
            format!(
                "{} of 1200 handles, spawned and joined from 4 threads at once, gave the wrong result, e.g. {}",
                problems.len(),
                problems[0]
            )
        });
    });
}

/// Longer than any give-up a pool could plausibly build into `join`, `drop`
/// or an idle worker (a receive timeout of a second or two).
const LONG: Duration = Duration::from_secs(3);
/// CPU time the joining thread may use while it waits [`LONG`] for a job. A
/// join blocked in the kernel uses microseconds; one that polls (try_recv and
/// yield_now) uses a good part of a core, hundreds of milliseconds even on a
/// loaded machine.
const JOIN_CPU: Duration = Duration::from_millis(150);
/// Times the joining thread may be switched off the CPU in that time. One
/// blocked in the kernel is switched once or a few times (a channel spins
/// and yields briefly before it sleeps); one that polls is switched at every
/// poll that finds another thread to run, or at every short sleep.
const JOIN_SWITCHES: i64 = 25;

/// A problem found by one of the long checks: the step whose page explains
/// it, and the verdict.
type Problem = (usize, String);

#[test]
fn step6_long_jobs_and_long_idle_spells() {
    graded_within(PRESSURE_LIMIT, |t| {
        // Three pools side by side, so that the test takes LONG once: one
        // idle for LONG, one dropped while its job runs for LONG, one whose
        // job's handle is joined while the job runs for LONG.
        t.stage(
            format!("running three pools for {LONG:?}: one idle, one dropped during a long job, one joined during a long job"),
            "idle workers wait for as long as it takes; drop and join wait for as long as the job takes: no \
             timeouts anywhere",
        );
        let idle = t.pool(2);
        let dropped = t.pool(1);
        let joined = t.pool(1);
        let problems: Vec<Problem> = thread::scope(|s| {
            let checks = [
                s.spawn(move || idle_workers_stay(idle)),
                s.spawn(move || drop_waits_for_a_long_job(dropped)),
                s.spawn(move || join_waits_for_a_long_job(joined)),
            ];
            checks.into_iter().filter_map(|c| c.join().unwrap_or_else(|_| Err((6, "a check of the suite panicked".into()))).err()).collect()
        });
        if let Some((step, _)) = problems.first() {
            t.see_step(*step);
            fail(problems.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join("\n\n"));
        }
    });
}

/// Leaks `pool` (a failed check must not risk a hanging drop) and fails.
fn leak(pool: Pool, step: usize, verdict: String) -> Result<(), Problem> {
    std::mem::forget(pool);
    Err((step, verdict))
}

fn idle_workers_stay(pool: Pool) -> Result<(), Problem> {
    let gate = Gate::new();
    for _ in 0..2 {
        let gate = gate.clone();
        pool.execute(move || gate.enter());
    }
    let inside = gate.wait_for(2);
    gate.open();
    if inside < 2 {
        return leak(pool, 2, format!("only {inside} of 2 jobs ran at once on a pool of 2 (see step 2)"));
    }
    thread::sleep(LONG);
    let gate = Gate::new();
    for _ in 0..2 {
        let gate = gate.clone();
        pool.execute(move || gate.enter());
    }
    let inside = gate.wait_for(2);
    gate.open();
    if inside < 2 {
        return leak(pool, 3, format!(
            "after the pool of 2 sat idle for {LONG:?}, only {inside} of 2 jobs ran at once (waited {WAIT:?}): \
             idle workers quit. A worker must wait for its next job for as long as it takes (a blocking recv, \
             or Condvar::wait in a loop), and stop only when the pool is dropped; recv_timeout, or a wait \
             with a timeout that ends the worker, loses it"
        ));
    }
    Ok(())
}

fn drop_waits_for_a_long_job(pool: Pool) -> Result<(), Problem> {
    let started = Counter::new();
    let finished = Arc::new(AtomicUsize::new(0));
    {
        let (started, finished) = (started.clone(), Arc::clone(&finished));
        pool.execute(move || {
            started.bump();
            thread::sleep(LONG);
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }
    if started.wait_for(1) < 1 {
        return leak(pool, 2, format!("a job did not start within {WAIT:?} on an idle pool (see step 2)"));
    }
    let mut pool = pool;
    let inner = pool.take();
    drop(inner);
    if finished.load(Ordering::SeqCst) != 1 {
        return Err((3, format!(
            "dropping a pool returned while its job, which runs for {LONG:?}, was still running: drop must wait \
             for the job however long it takes. Join every worker with JoinHandle::join, without a deadline \
             (no is_finished polling that gives up, no timeout)"
        )));
    }
    Ok(())
}

fn join_waits_for_a_long_job(pool: Pool) -> Result<(), Problem> {
    let handle = pool.spawn(|| {
        thread::sleep(LONG);
        42
    });
    let before = thread_usage();
    let result = handle.join();
    let after = thread_usage();
    let cpu = after.cpu - before.cpu;
    let switches = after.switches.zip(before.switches).map(|(a, b)| a - b).unwrap_or(0);
    // Shown with `cargo test -p exercises step6_long -- --nocapture`.
    println!("join waited {LONG:?} for a job: {cpu:?} of CPU time, {switches} switches off the CPU");
    match result {
        Ok(42) => {}
        Ok(v) => return leak(pool, 5, format!("a job that returned 42 after {LONG:?} gave Ok({v}) through join")),
        Err(e) => {
            return leak(pool, 5, format!(
                "join gave Err({}) for a job that runs for {LONG:?} and returns 42: join must wait for the job \
                 however long it takes (a blocking recv, or Condvar::wait in a loop), with no timeout",
                payload_text(&*e)
            ))
        }
    }
    if cpu > JOIN_CPU || switches > JOIN_SWITCHES {
        return leak(pool, 5, format!(
            "while join waited {LONG:?} for a job, the joining thread used {cpu:?} of CPU time and was switched \
             off the CPU {switches} times (at most {JOIN_CPU:?} and {JOIN_SWITCHES} allowed): join is polling. \
             It must sleep until the result arrives: a blocking recv on the job's channel, or Condvar::wait in a \
             loop, not try_recv with yield_now or a short sleep"
        ));
    }
    Ok(())
}
