//! Step 3: idle workers block. This test measures the CPU time and the
//! wake-ups of the whole process while the pool has nothing to do, so it is
//! alone in its own test binary (cargo runs test binaries one after another).

mod common;

use common::*;
use std::thread;
use std::time::Duration;

/// How long the pool sits idle while we measure.
const IDLE: Duration = Duration::from_millis(500);
/// CPU time the whole process may use in that time. Idle workers that block
/// use next to nothing (microseconds); one worker polling in a loop uses most
/// of a core even on a loaded machine.
const MAX_CPU: Duration = Duration::from_millis(100);
/// Context switches the whole process may make in that time. Blocked
/// workers make none; the measuring thread makes one or two. A worker that
/// sleeps a little between polls wakes up hundreds of times.
const MAX_WAKEUPS: i64 = 25;

/// (CPU time, context switches) of the whole process so far: the sum over
/// all its threads, from getrusage(RUSAGE_SELF).
#[cfg(unix)]
fn usage() -> (Duration, i64) {
    // SAFETY: getrusage only writes the struct we hand it, which is plain
    // old data that may start zeroed.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    (time(ru.ru_utime) + time(ru.ru_stime), (ru.ru_nvcsw + ru.ru_nivcsw) as i64)
}

#[cfg(unix)]
#[test]
fn step3_idle_workers_do_not_spin() {
    graded(|t| {
        let pool = t.pool(4);
        // Make sure all 4 workers are started and have been through the queue.
        let gate = Gate::new();
        let done = Counter::new();
        t.stage("submitting one job per worker", "execute must queue the job and return");
        for _ in 0..4 {
            let gate = gate.clone();
            let done = done.clone();
            pool.execute(move || {
                gate.enter();
                done.bump();
            });
        }
        let inside = gate.wait_for(4);
        gate.open();
        check(inside == 4, || format!("only {inside} of 4 jobs ran at once on a pool of 4 (see step 2)"));
        check(done.wait_for(4) == 4, || "the 4 jobs did not finish".into());
        t.stage("measuring an idle pool", "idle workers must block until a job or the shutdown arrives");
        thread::sleep(Duration::from_millis(50)); // let the workers go back to waiting
        let (cpu0, switches0) = usage();
        thread::sleep(IDLE);
        let (cpu1, switches1) = usage();
        let (cpu, wakeups) = (cpu1 - cpu0, switches1 - switches0);
        // Shown with `cargo test -p exercises step3_idle -- --nocapture`.
        println!("idle pool of 4 over {IDLE:?}: {cpu:?} of CPU time, {wakeups} context switches");
        check(cpu <= MAX_CPU, || {
            format!(
                "a pool of 4 idle workers used {cpu:?} of CPU time in {IDLE:?}: idle workers are spinning. They \
                 must block (a blocking recv on a channel, or Condvar::wait) instead of polling the queue in a \
                 loop (try_recv, yield_now, or checking a flag over and over)"
            )
        });
        check(wakeups <= MAX_WAKEUPS, || {
            format!(
                "the process woke up {wakeups} times in {IDLE:?} while the pool of 4 was idle: workers that sleep \
                 a little and poll again still wake up all the time and add latency. Block on the queue \
                 (a blocking recv, or Condvar::wait) so a worker wakes only when there is a job or a shutdown"
            )
        });
    });
}
