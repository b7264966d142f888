//! Step 4: a panicking job hurts nobody. (The panics these tests cause on
//! purpose say "this job panics on purpose"; the suite's panic hook keeps
//! them quiet.)

mod common;

use common::*;

const PANIC_HINT: &str = "execute must hand the job over and return; the panic belongs to the worker that runs \
     the job, which must catch it (std::panic::catch_unwind) and go on to the next job";

fn submit_panics(t: &Ctx, pool: &Pool, n: usize, ran: &Counter) {
    t.stage(format!("submitting {n} jobs that panic"), PANIC_HINT);
    for _ in 0..n {
        let ran = ran.clone();
        pool.execute(move || {
            ran.bump();
            panic!("step 4: this job panics on purpose");
        });
    }
}

#[test]
fn step4_panic_does_not_reach_the_caller() {
    graded(|t| {
        let pool = t.pool(2);
        let ran = Counter::new();
        submit_panics(t, &pool, 4, &ran);
        t.stage("waiting for 4 panicking jobs to run", PANIC_HINT);
        let count = ran.wait_for(4);
        check(count == 4, || {
            format!(
                "only {count} of 4 panicking jobs ran on a pool of 2: a job that panics must not take its worker \
                 down with it. Catch the panic around the call to the job (std::panic::catch_unwind) and loop on"
            )
        });
        let after = Counter::new();
        {
            let after = after.clone();
            t.stage("submitting a normal job after 4 panics", PANIC_HINT);
            pool.execute(move || after.bump());
        }
        check(after.wait_for(1) == 1, || {
            "after 4 jobs panicked, the pool did not run the next job: its workers died with the panics; \
             catch them (std::panic::catch_unwind)"
                .into()
        });
    });
}

#[test]
fn step4_panics_do_not_shrink_the_pool() {
    graded(|t| {
        let pool = t.pool(3);
        let ran = Counter::new();
        submit_panics(t, &pool, 9, &ran);
        t.stage("waiting for 9 panicking jobs to run on a pool of 3", PANIC_HINT);
        let count = ran.wait_for(9);
        check(count == 9, || {
            format!(
                "only {count} of 9 panicking jobs ran on a pool of 3: each panic killed a worker. Catch the panic \
                 in the worker (std::panic::catch_unwind) so the thread survives it"
            )
        });
        let gate = Gate::new();
        t.stage("submitting 3 jobs that wait for each other, after 9 panics", PANIC_HINT);
        for _ in 0..3 {
            let gate = gate.clone();
            pool.execute(move || gate.enter());
        }
        let inside = gate.wait_for(3);
        gate.open();
        check(inside == 3, || {
            format!(
                "after 9 jobs panicked, only {inside} of 3 jobs could run at once on a pool of 3: the pool lost \
                 workers to the panics (or a poisoned lock). A panic must leave the pool at full width"
            )
        });
    });
}

#[test]
fn step4_drop_after_panics_is_clean() {
    graded(|t| {
        let pool = t.pool(2);
        let ran = Counter::new();
        let normal = Counter::new();
        submit_panics(t, &pool, 4, &ran);
        t.stage("submitting 10 normal jobs after the panicking ones", PANIC_HINT);
        for _ in 0..10 {
            let normal = normal.clone();
            pool.execute(move || normal.bump());
        }
        t.shutdown(
            pool,
            "dropping a pool after some of its jobs panicked",
            "drop must neither panic nor hang after jobs panicked: workers that caught their jobs' panics end \
             normally, so joining them gives Ok; do not unwrap or re-raise a job's panic in drop",
        );
        check(ran.get() == 4, || {
            format!(
                "only {} of 4 panicking jobs ran before drop returned: each panic took its worker down, and drop \
                 joined the dead workers without running the rest of the queue. Catch the panic around the call \
                 to the job (std::panic::catch_unwind) so the worker loops on",
                ran.get()
            )
        });
        check(normal.get() == 10, || {
            format!(
                "only {} of the 10 normal jobs queued after the panicking ones ran before drop returned: a panic \
                 must not stop the pool from running the rest of its queue",
                normal.get()
            )
        });
    });
}
