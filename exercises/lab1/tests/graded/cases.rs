//! Every graded test, one function each, run inside a helper process.
//!
//! A test returns `Err(verdict)`: the broken property, what usually causes
//! it, and the page to read. It judges behaviour only (what happened to
//! children, threads, descriptors, bytes, switches, CPU sets and the clock),
//! never how long anything took.

use crate::instruments::{self as ins, Children, Reading};
use crate::{stage, EXPECTING_PANIC};
use lab1::{Bench, Figure, Job, Side};
use std::ffi::CStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub type Verdict = Result<(), String>;

pub struct Case {
    pub name: &'static str,
    pub run: fn() -> Verdict,
}

pub const CASES: &[Case] = &[
    Case { name: "step1_median_of_odd_and_even_counts", run: step1_median_of_odd_and_even_counts },
    Case { name: "step1_median_is_not_the_mean", run: step1_median_is_not_the_mean },
    Case { name: "step1_measure_keeps_every_sample", run: step1_measure_keeps_every_sample },
    Case { name: "step2_fork_exit_wait_reaps_inside_the_clock", run: step2_fork_exit_wait_reaps_inside_the_clock },
    Case { name: "step2_fork_exec_wait_reaps_inside_the_clock", run: step2_fork_exec_wait_reaps_inside_the_clock },
    Case { name: "step2_fork_exec_wait_refuses_a_failed_child", run: step2_fork_exec_wait_refuses_a_failed_child },
    Case { name: "step2_thread_spawn_join_joins_inside_the_clock", run: step2_thread_spawn_join_joins_inside_the_clock },
    Case { name: "step2_task_spawn_await_awaits_inside_the_clock", run: step2_task_spawn_await_awaits_inside_the_clock },
    Case { name: "step3_processes_pinned_cross_twice_on_one_cpu", run: step3_processes_pinned_cross_twice_on_one_cpu },
    Case { name: "step3_processes_unpinned_cross_twice", run: step3_processes_unpinned_cross_twice },
    Case { name: "step3_threads_pinned_cross_twice_on_one_cpu", run: step3_threads_pinned_cross_twice_on_one_cpu },
    Case { name: "step3_threads_unpinned_cross_twice", run: step3_threads_unpinned_cross_twice },
    Case { name: "step4_processes_split_the_job", run: step4_processes_split_the_job },
    Case { name: "step4_threads_split_the_job", run: step4_threads_split_the_job },
    Case { name: "step4_tasks_split_the_job", run: step4_tasks_split_the_job },
];

const STEP1: &str = "Read: Lab 1, Step 1: samples and the median (src/lab1/step1.md).";
const STEP2: &str = "Read: Lab 1, Step 2: creation (src/lab1/step2.md).";
const STEP3: &str = "Read: Lab 1, Step 3: the ping-pong (src/lab1/step3.md).";
const STEP4: &str = "Read: Lab 1, Step 4: one job, N units (src/lab1/step4.md).";

fn check(ok: bool, message: impl FnOnce() -> String) -> Verdict {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

// ---------------------------------------------------------------------------
// Step 1
// ---------------------------------------------------------------------------

fn step1_median_of_odd_and_even_counts() -> Verdict {
    stage("calling median(&[..])", "median only sorts a copy and picks the middle: it should not block or panic on a non-empty slice");
    for (samples, want) in [(vec![us(3), us(1), us(2)], us(2)), (vec![us(4), us(1), us(3), us(2)], Duration::from_nanos(2500)), (vec![us(7)], us(7))] {
        let got = lab1::median(&samples);
        check(got == want, || {
            format!(
                "median({samples:?}) returned {got:?}, expected {want:?}: the median is the middle value once the samples are sorted, \
                 and for an even count the mean of the two middle ones.\nUsual cause: taking the middle of the unsorted samples, or \
                 the wrong middle index for an even count. {STEP1}"
            )
        })?;
    }
    Ok(())
}

fn step1_median_is_not_the_mean() -> Verdict {
    stage("calling median(&[..])", "");
    let samples = [us(10), us(11), us(1000), us(12), us(13)];
    let got = lab1::median(&samples);
    check(got == us(12), || {
        format!(
            "median({samples:?}) returned {got:?}, expected 12µs: one sample hit by another program (the 1000µs one) must not move \
             the figure.\nUsual cause: returning the mean (or the last, or the largest) sample instead of the middle one. {STEP1}"
        )
    })
}

fn step1_measure_keeps_every_sample() -> Verdict {
    // A fake operation: call k of the five takes `order[k]` µs per op.
    let order = [3u64, 1, 5, 2, 4];
    let b = ins::bench(4, 5, 0);
    let mut calls = Vec::new();
    stage("calling measure(&bench, run) with a fake run", "measure calls run(b.iters) b.repeats times and only divides");
    let figure = lab1::measure(&b, |n| {
        calls.push(n);
        us(order.get(calls.len() - 1).copied().unwrap_or(1) * n)
    });
    let reads = ins::take_readings().len();
    check(calls.len() == 5, || {
        format!(
            "measure called run {} time(s) for b.repeats = 5: a figure from one sample is at the mercy of whatever else ran at that \
             moment.\nUsual cause: timing once, or a loop over the wrong count; take b.repeats samples and report their median. {STEP1}",
            calls.len()
        )
    })?;
    check(calls.iter().all(|&n| n == 4), || format!("measure called run with {calls:?}; every sample must time b.iters = 4 operations. {STEP1}"))?;
    let want: Vec<Duration> = order.iter().map(|&k| us(k)).collect();
    check(figure.samples == want, || {
        format!(
            "measure returned samples {:?}, expected {want:?}: each sample is the time run returned divided by b.iters, kept in the \
             order taken.\nUsual cause: dividing by b.repeats or by the total count, sorting the samples in place, or keeping only \
             some. {STEP1}",
            figure.samples
        )
    })?;
    check(figure.per_op == us(3) && figure.ops_per_sample == 4, || {
        format!("measure returned per_op {:?} and ops_per_sample {} for those samples; expected their median, 3µs, and b.iters, 4. {STEP1}", figure.per_op, figure.ops_per_sample)
    })?;
    check(reads == 0, || format!("measure read b.clock {reads} time(s) itself; only run reads the clock, just around its loop. {STEP1}"))
}

// ---------------------------------------------------------------------------
// Step 2
// ---------------------------------------------------------------------------

/// Counts taken just before a call, to compare with just after.
struct Before {
    fds: usize,
    threads: usize,
}

fn before() -> Before {
    let _ = ins::take_readings();
    Before { fds: ins::fds(), threads: ins::threads() }
}

/// Nothing left behind: no child, no thread, no descriptor.
fn clean_after(what: &str, was: &Before, page: &str) -> Verdict {
    let kids = ins::children();
    check(kids == Children::None, || {
        format!(
            "{what} returned with a child process still {}: every child must be reaped (waitpid) before it returns, or it stays a \
             zombie, holding a pid and a slot in the process table.\nUsual cause: no waitpid, or one waitpid for many forks. {page}",
            if kids == Children::Zombie { "waiting to be reaped (a zombie)" } else { "running" }
        )
    })?;
    let threads = ins::threads_settle(was.threads);
    check(threads <= was.threads, || {
        format!(
            "{what} returned with {} more thread(s) alive than before the call (Threads: {} -> {threads}): every thread it starts must \
             be joined before it returns.\nUsual cause: a JoinHandle dropped instead of joined, or a partner left blocked in a read. {page}",
            threads - was.threads,
            was.threads
        )
    })?;
    let fds = ins::fds();
    check(fds <= was.fds, || {
        format!(
            "{what} returned with {} more open descriptor(s) than before the call (/proc/self/fd: {} -> {fds}): every pipe end must be \
             closed, in both processes.\nUsual cause: a raw fd from libc::pipe never closed, an OwnedFd leaked with mem::forget or \
             into_raw_fd. {page}",
            fds - was.fds,
            was.fds
        )
    })
}

fn shape(what: &str, f: &Figure, b: &Bench, page: &str) -> Verdict {
    check(f.samples.len() == b.repeats && f.ops_per_sample == b.iters, || {
        format!(
            "{what} returned {} sample(s) of {} operation(s); expected b.repeats = {} samples of b.iters = {}.\nUsual cause: not \
             going through measure, or a single sample. {page}",
            f.samples.len(),
            f.ops_per_sample,
            b.repeats,
            b.iters
        )
    })?;
    let mut sorted = f.samples.clone();
    sorted.sort();
    check(f.per_op == sorted[sorted.len() / 2], || format!("{what} returned per_op {:?}, which is not the median of its samples {:?}. {page}", f.per_op, f.samples))
}

fn clock_reads(what: &str, readings: &[Reading], b: &Bench, page: &str) -> Verdict {
    check(readings.len() == 2 * b.repeats, || {
        format!(
            "{what} read the clock {} times for {} samples of {} operations; expected exactly {} (twice per sample: just before and just \
             after its loop).\nUsual cause: reading the clock inside the loop, once per operation, and adding the pieces up: the \
             figure then includes the clock's own cost and misses the work between the readings. {page}",
            readings.len(),
            b.repeats,
            b.iters,
            2 * b.repeats
        )
    })
}

/// At every clock reading, every unit created so far has finished, and the
/// readings bracket exactly `iters` units per sample.
fn units_inside_the_clock(what: &str, readings: &[Reading], b: &Bench, wait: &str, page: &str) -> Verdict {
    for (j, r) in readings.iter().enumerate() {
        let expected = (j as u64).div_ceil(2) * b.iters;
        let sample = j / 2 + 1;
        if j % 2 == 1 {
            check(r.finished >= expected, || {
                format!(
                    "when {what} stopped the clock for sample {sample}, only {} of the {expected} units created so far had finished: the \
                     figure leaves out the end of each unit, so it times creation alone.\nUsual cause: {wait} {page}",
                    r.finished
                )
            })?;
        }
        check(r.started == expected && r.finished == expected, || {
            format!(
                "at clock reading {} (the {} of sample {sample}), {} unit(s) had run (and {} finished); expected exactly {expected}: b.iters \
                 = {} per sample, all of them between the two readings.\nUsual cause: units created before the clock starts (a warm-up) or \
                 after it stops, or more or fewer than b.iters per sample. {page}",
                j + 1,
                if j % 2 == 0 { "start" } else { "stop" },
                r.started,
                r.finished,
                b.iters
            )
        })?;
    }
    Ok(())
}

fn no_child_at_readings(what: &str, readings: &[Reading], page: &str) -> Verdict {
    match readings.iter().position(|r| r.children != Children::None) {
        None => Ok(()),
        Some(j) => Err(format!(
            "at clock reading {} a child process of {what} still existed ({}): the clock stopped (or started) before the child was reaped, \
             so the figure times fork without the wait.\nUsual cause: waitpid after the timed loop instead of inside it, or no waitpid. {page}",
            j + 1,
            if readings[j].children == Children::Zombie { "exited, not reaped yet" } else { "still running" }
        )),
    }
}

fn step2_fork_exit_wait_reaps_inside_the_clock() -> Verdict {
    let b = ins::bench(5, 3, 5);
    let was = before();
    stage("calling fork_exit_wait(&bench) (5 forks x 3 samples)", "the parent must waitpid each child; the child must call b.unit_body and then libc::_exit(0), never return into the caller's code");
    let f = lab1::fork_exit_wait(&b);
    let readings = ins::take_readings();
    let wait = "waitpid after the loop, or the clock read before waitpid returned.";
    clock_reads("fork_exit_wait", &readings, &b, STEP2)?;
    no_child_at_readings("fork_exit_wait", &readings, STEP2)?;
    units_inside_the_clock("fork_exit_wait", &readings, &b, wait, STEP2)?;
    shape("fork_exit_wait", &f, &b, STEP2)?;
    clean_after("fork_exit_wait", &was, STEP2)
}

fn step2_fork_exec_wait_reaps_inside_the_clock() -> Verdict {
    let b = ins::bench(4, 3, 0);
    let was = before();
    stage("calling fork_exec_wait(&bench, c\"/bin/true\")", "the child must execve the program and _exit(127) if the exec fails; the parent must waitpid each child");
    let f = lab1::fork_exec_wait(&b, c"/bin/true");
    let readings = ins::take_readings();
    clock_reads("fork_exec_wait", &readings, &b, STEP2)?;
    no_child_at_readings("fork_exec_wait", &readings, STEP2)?;
    shape("fork_exec_wait", &f, &b, STEP2)?;
    clean_after("fork_exec_wait", &was, STEP2)
}

fn must_panic(program: &CStr) -> Verdict {
    let b = ins::bench(2, 1, 0);
    stage(&format!("calling fork_exec_wait(&bench, {program:?}), which must panic"), "a child that does not exit with status 0 must make the measurement panic, after it was reaped");
    EXPECTING_PANIC.store(true, Ordering::SeqCst);
    let result = std::panic::catch_unwind(|| lab1::fork_exec_wait(&b, program));
    EXPECTING_PANIC.store(false, Ordering::SeqCst);
    // A todo!() panics too, but is no refusal.
    if let Err(payload) = &result {
        let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default();
        if let Some(rest) = text.strip_prefix("not yet implemented: ") {
            panic!("not yet implemented: {rest}");
        }
    }
    check(result.is_err(), || {
        format!(
            "fork_exec_wait(&bench, {program:?}) returned a figure ({:?} per op) although every child failed: a benchmark that times \
             failures prints a number just as confidently as one that times the real thing (lmbench's `lat_proc exec` does, when its \
             hello file is missing).\nUsual cause: the child's exit status ignored; check it is WaitStatus::Exited(_, 0) and panic \
             otherwise. {STEP2}",
            result.as_ref().map(|f| f.per_op).unwrap_or_default()
        )
    })
}

fn step2_fork_exec_wait_refuses_a_failed_child() -> Verdict {
    must_panic(c"/bin/false")?;
    must_panic(c"/nonexistent/lab1-no-such-program")?;
    let _ = ins::take_readings();
    Ok(())
}

fn step2_thread_spawn_join_joins_inside_the_clock() -> Verdict {
    let b = ins::bench(3, 3, 3);
    let was = before();
    stage("calling thread_spawn_join(&bench) (3 threads x 3 samples; the last of each sample takes 200 ms)", "join every thread before the next spawn; a thread that never ends blocks join forever");
    let f = lab1::thread_spawn_join(&b);
    let readings = ins::take_readings();
    clock_reads("thread_spawn_join", &readings, &b, STEP2)?;
    let wait = "the JoinHandle dropped instead of joined (a detached thread goes on running after the clock stops), or joined after the loop.";
    units_inside_the_clock("thread_spawn_join", &readings, &b, wait, STEP2)?;
    shape("thread_spawn_join", &f, &b, STEP2)?;
    clean_after("thread_spawn_join", &was, STEP2)
}

fn step2_task_spawn_await_awaits_inside_the_clock() -> Verdict {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let b = ins::bench(3, 3, 3);
    let was = before();
    stage("calling task_spawn_await(&bench, &rt) on a current-thread runtime (3 tasks x 3 samples)", "await each JoinHandle before the next spawn; use the runtime you are given (block_on), do not build one");
    let f = lab1::task_spawn_await(&b, &rt);
    let readings = ins::take_readings();
    clock_reads("task_spawn_await", &readings, &b, STEP2)?;
    let wait = "the task's JoinHandle dropped instead of awaited (the task then runs whenever the runtime gets to it, after the clock stopped).";
    units_inside_the_clock("task_spawn_await", &readings, &b, wait, STEP2)?;
    shape("task_spawn_await", &f, &b, STEP2)?;
    drop(rt);
    clean_after("task_spawn_await", &was, STEP2)
}

// ---------------------------------------------------------------------------
// Step 3
// ---------------------------------------------------------------------------

fn first_allowed(mask: u64) -> usize {
    (0..64).find(|c| mask & 1 << c != 0).unwrap_or(0)
}

fn pingpong(processes: bool, pinned: bool) -> Verdict {
    let what = if processes { "pipe_pingpong_processes" } else { "pipe_pingpong_threads" };
    let all = ins::this_thread_cpus();
    let cpu = first_allowed(all);
    let arg = if pinned { Some(cpu) } else { None };
    let expected_cpus = if pinned { 1u64 << cpu } else { all };
    ins::expect_cpus(expected_cpus);
    let b = ins::bench(500, 3, 0);
    let trips = b.iters * b.repeats as u64;
    stage(
        &format!("calling {what}(&bench, {arg:?}) (500 round trips x 3 samples)"),
        "both sides must do the same number of round trips (warm-up included), and each must close the pipe ends it does not use, \
         so that a side that stops sees end of file instead of waiting forever",
    );
    let was = before();
    let (io0, sw0) = (ins::io(), ins::switches());
    let f = match processes {
        true => lab1::pipe_pingpong_processes(&b, arg),
        false => lab1::pipe_pingpong_threads(&b, arg),
    };
    let (io1, sw1) = (ins::io(), ins::switches());
    let readings = ins::take_readings();
    let after_cpus = ins::this_thread_cpus();
    clock_reads(what, &readings, &b, STEP3)?;
    // The partner exists when each timed loop starts, as what it should
    // be; when the loop stops it may just have ended (its last act is the
    // last reply), but a partner process cannot have been reaped yet.
    for (j, r) in readings.iter().enumerate() {
        let start = j % 2 == 0;
        if processes {
            let alive = if start { r.children == Children::Running } else { r.children != Children::None };
            check(alive, || {
                format!(
                    "at clock reading {} no partner process was alive ({:?}): in {what} the partner is a child process that lives through \
                     the whole timed loop.\nUsual cause: the partner run as a thread, or forked after the clock started, or reaped \
                     before it stopped. {STEP3}",
                    j + 1,
                    r.children
                )
            })?;
        } else {
            check(r.children == Children::None && (!start || r.threads > was.threads), || {
                format!(
                    "at clock reading {} the partner was not a live thread of this process (children: {:?}, threads: {} -> {}): in \
                     {what} the partner is a thread, spawned before the clock starts and joined after it stops. {STEP3}",
                    j + 1,
                    r.children,
                    was.threads,
                    r.threads
                )
            })?;
        }
    }
    // One byte each way per round trip, on the measuring side: the calling
    // thread writes one and reads it back.
    let (read, written) = (io1.0 - io0.0, io1.1 - io0.1);
    check(written >= trips && read >= trips, || {
        format!(
            "the measuring side (the calling thread) wrote {written} and read {read} bytes through the pipes for {trips} timed round \
             trips; at least {trips} each way were needed: a round trip is a byte down to the partner and the same byte back.\nUsual \
             cause: a one-way trip counted as a round trip (writing without waiting for the reply), or each direction counted as one \
             trip. {STEP3}"
        )
    })?;
    if pinned && all.count_ones() > 1 {
        let switches = (sw1.0 - sw0.0) + (sw1.1 - sw0.1);
        check(switches >= trips as i64, || {
            format!(
                "both sides on CPU {cpu} made {switches} context switches (getrusage, both processes) for {trips} round trips: on one \
                 CPU every round trip must hand the CPU to the partner and back.\nUsual cause: the partner is not really on the other \
                 side of the pipe (a process reading its own pipe, a reply sent before the request). {STEP3}"
            )
        })?;
    }
    for side in [Side::Measuring, Side::Partner] {
        let (reports, bad, first_bad) = ins::reports(side);
        check(reports >= 1, || {
            format!(
                "the {side:?} side never called (b.report_cpus)(Side::{side:?}): each side reports its CPU set from inside itself, \
                 once pinned, before its loop, so the test can see where it ran. {STEP3}"
            )
        })?;
        check(bad == 0, || {
            format!(
                "the {side:?} side reported the CPU set {} from inside itself; {what}(&bench, {arg:?}) should run it on {}.\nUsual cause: {} \
                 {STEP3}",
                ins::show_cpus(first_bad),
                ins::show_cpus(expected_cpus),
                if pinned {
                    "pinning the parent after the fork (a child inherits the CPU set of the thread that forks it, at the fork), or \
                     pinning only one side, or calling report_cpus before pinning."
                } else {
                    "an unpinned measurement left pinned (pinning not undone, or pinning when cpu is None)."
                }
            )
        })?;
    }
    check(after_cpus == all, || {
        format!(
            "after {what}(&bench, {arg:?}) returned, the calling thread could run on {} instead of {}: a pinned measurement must give \
             back the CPU set it found, or every later (\"unpinned\") figure is pinned too.\nUsual cause: sched_setaffinity without \
             saving and restoring the old set. {STEP3}",
            ins::show_cpus(after_cpus),
            ins::show_cpus(all)
        )
    })?;
    shape(what, &f, &b, STEP3)?;
    clean_after(what, &was, STEP3)
}

fn step3_processes_pinned_cross_twice_on_one_cpu() -> Verdict {
    pingpong(true, true)
}

fn step3_processes_unpinned_cross_twice() -> Verdict {
    pingpong(true, false)
}

fn step3_threads_pinned_cross_twice_on_one_cpu() -> Verdict {
    pingpong(false, true)
}

fn step3_threads_unpinned_cross_twice() -> Verdict {
    pingpong(false, false)
}

// ---------------------------------------------------------------------------
// Step 4
// ---------------------------------------------------------------------------

/// Primes below `limit`, by a sieve (a different method from the job's).
fn primes_below(limit: usize) -> u64 {
    let mut composite = vec![false; limit];
    let mut count = 0;
    for n in 2..limit {
        if !composite[n] {
            count += 1;
            (n * n..limit).step_by(n).for_each(|m| composite[m] = true);
        }
    }
    count
}

fn split_the_job(what: &str, run: &dyn Fn(Job, usize) -> u64) -> Verdict {
    let limit = 30_000;
    let cpu_answer = primes_below(limit as usize);
    let jobs = [
        (Job::Cpu { limit }, 1, cpu_answer),
        (Job::Cpu { limit }, 3, cpu_answer),
        (Job::Cpu { limit }, 7, cpu_answer),
        (Job::Io { waits: 10, wait: Duration::from_millis(1) }, 4, 10),
    ];
    for (job, units, answer) in jobs {
        let was = before();
        stage(
            &format!("calling {what}({job:?}, {units})"),
            "each unit computes job.share(i, units) and hands it back; the caller collects all of them, then reaps or joins every unit",
        );
        let got = run(job, units);
        check(got == answer, || {
            format!(
                "{what}({job:?}, {units}) returned {got}, expected {answer}: the shares of all the units add up to the whole job.\nUsual \
                 cause: a unit given the whole job instead of its share (job.share(i, units)), a share read twice or lost, or results \
                 read before every unit sent one. {STEP4}"
            )
        })?;
        clean_after(&format!("{what}({job:?}, {units})"), &was, STEP4)?;
    }
    Ok(())
}

fn step4_processes_split_the_job() -> Verdict {
    split_the_job("run_processes", &lab1::run_processes)
}

fn step4_threads_split_the_job() -> Verdict {
    split_the_job("run_threads", &lab1::run_threads)?;
    check(ins::children() == Children::None, || format!("run_threads started a child process: its units are threads of this process. {STEP4}"))
}

fn step4_tasks_split_the_job() -> Verdict {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    split_the_job("run_tasks", &|job, units| lab1::run_tasks(&rt, job, units))
}
