//! Step 5: results, through spawn and JobHandle::join.

mod common;

use common::*;
use exercises::JobHandle;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::Duration;

const SPAWN_HINT: &str = "spawn must queue the job (like execute) and return its handle at once";
const JOIN_HINT: &str = "join must wait for this handle's own job and return what it returned: give each job its \
     own way back to its handle (a channel per job works)";

/// Joins `handle` under the watchdog, turning a panic in join into a verdict.
fn join<T: Send + 'static>(t: &Ctx, handle: JobHandle<T>, what: &str) -> thread::Result<T> {
    join_with(t, handle, what, JOIN_HINT)
}

/// [`join`], with the hint to give if it gets stuck.
fn join_with<T: Send + 'static>(t: &Ctx, handle: JobHandle<T>, what: &str, hint: &str) -> thread::Result<T> {
    t.stage(format!("joining {what}"), hint);
    // On a thread of its own, so that a join stuck for WAIT gets a verdict
    // before the watchdog fires.
    let (tx, rx) = std::sync::mpsc::channel();
    let name = format!("{}-join", thread::current().name().unwrap_or("graded-test"));
    thread::Builder::new()
        .name(name)
        .spawn(move || {
            report_panics_here();
            let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(|| handle.join())));
        })
        .expect("cannot start a thread to join on");
    let outcome = match rx.recv_timeout(WAIT) {
        Ok(outcome) => outcome,
        Err(_) => fail(format!(
            "join did not return within {WAIT:?} while the test was joining {what}, a job that takes \
             microseconds: join waits for a result that never comes.\nhint: {hint}"
        )),
    };
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let text = payload_text(&*payload);
            if text.starts_with("not yet implemented") {
                panic::resume_unwind(payload);
            }
            fail(format!(
                "join panicked in the caller while joining {what} (`{text}`): join must never panic; a job's \
                 panic comes back as Err(payload)"
            ))
        }
    }
}

#[test]
fn step5_join_returns_the_value() {
    graded(|t| {
        let pool = t.pool(2);
        t.stage("calling spawn", SPAWN_HINT);
        let number = pool.spawn(|| 6 * 7);
        let text = pool.spawn(|| String::from("made on a worker"));
        let caller = thread::current().id();
        let id = pool.spawn(|| thread::current().id());
        let items = pool.spawn(|| vec![1u8, 2, 3]);
        match join(t, number, "a job that returns 6 * 7") {
            Ok(42) => {}
            other => fail(format!("spawn(|| 6 * 7).join() returned {other:?}, expected Ok(42)")),
        }
        match join(t, text, "a job that returns a String") {
            Ok(s) if s == "made on a worker" => {}
            Ok(s) => fail(format!("a job returned \"made on a worker\" but join gave Ok({s:?})")),
            Err(e) => fail(format!("a job that returned a String gave Err({})", payload_text(&*e))),
        }
        match join(t, id, "a job that returns its thread's id") {
            Ok(worker) => check(worker != caller, || "a spawned job ran on the caller's thread".into()),
            Err(e) => fail(format!("a job that returned its thread id gave Err({})", payload_text(&*e))),
        }
        match join(t, items, "a job that returns a Vec") {
            Ok(v) => check(v == [1, 2, 3], || format!("a job returned vec![1, 2, 3] but join gave Ok({v:?})")),
            Err(e) => fail(format!("a job that returned a Vec gave Err({})", payload_text(&*e))),
        }
    });
}

#[test]
fn step5_each_handle_gets_its_own_result() {
    graded(|t| {
        // 8 jobs on a pool of 8, made to finish in reverse order: job i waits
        // until job i + 1 has finished. A pool that hands results out in the
        // order they arrive, rather than to their own handle, fails this.
        let pool = t.pool(8);
        let finished = Counter::new();
        t.stage("spawning 8 jobs that finish in reverse order", SPAWN_HINT);
        let handles: Vec<_> = (0..8usize)
            .map(|i| {
                let finished = finished.clone();
                pool.spawn(move || {
                    if finished.wait_for_within(7 - i, WAIT) < 7 - i {
                        return usize::MAX; // the pool did not run them all at once; other tests say why
                    }
                    thread::sleep(Duration::from_millis(2));
                    finished.bump();
                    100 + i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            match join(t, handle, &format!("handle {i} of 8, in submission order")) {
                Ok(v) if v == 100 + i => {}
                Ok(v) => fail(format!(
                    "handle {i} returned Ok({v}), but its job returned {}: each handle must get its own job's \
                     result, however the jobs finish (these finished last to first). A channel per job keeps \
                     them apart",
                    100 + i
                )),
                Err(e) => fail(format!("handle {i} returned Err({}) for a job that did not panic", payload_text(&*e))),
            }
        }
        // And joined in reverse order, on a busy pool.
        let pool = t.pool(3);
        t.stage("spawning 30 jobs", SPAWN_HINT);
        let handles: Vec<_> = (0..30u64)
            .map(|i| {
                pool.spawn(move || {
                    thread::sleep(Duration::from_micros(200 * (i % 4)));
                    i * i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate().rev() {
            let i = i as u64;
            match join(t, handle, &format!("handle {i} of 30, in reverse order")) {
                Ok(v) => check(v == i * i, || format!("handle {i} gave Ok({v}) but its job returned {}", i * i)),
                Err(e) => fail(format!("handle {i} gave Err({}) for a job that did not panic", payload_text(&*e))),
            }
        }
    });
}

#[test]
fn step5_panic_comes_back_as_err() {
    graded(|t| {
        let pool = t.pool(2);
        // The test checks its own assumption first: with a runtime argument,
        // panic! formats a String (with a constant one, rustc may fold the
        // message into a &'static str).
        let here = panic::catch_unwind(|| panic!("step 5: job {} panics on purpose", std::hint::black_box(2)));
        check(here.as_ref().is_err_and(|p| p.is::<String>()), || {
            "the suite's own check failed: a formatted panic did not give a String payload on this compiler".into()
        });
        t.stage("spawning jobs that panic with a &str, a String and a value of another type", PANIC_JOIN_HINT);
        let literal = pool.spawn(|| -> u32 { panic!("step 5: this job panics on purpose") });
        let formatted = pool.spawn(|| -> u32 { panic!("step 5: job {} panics on purpose", std::hint::black_box(2)) });
        let other = pool.spawn(|| -> u32 { panic::panic_any(OnPurpose(7)) });
        let untouched = "pass on the payload std::panic::catch_unwind gave you, untouched: no downcast, no \
                         to_string, no new Box";
        match join_panicked(t, literal, "a job that panicked with a string literal") {
            Ok(v) => fail(format!("join returned Ok({v}) for a job that panicked: it must return Err(payload)")),
            Err(payload) => match payload.downcast_ref::<&'static str>() {
                Some(&"step 5: this job panics on purpose") => {}
                Some(other) => fail(format!("the job panicked with \"step 5: this job panics on purpose\", join's Err carries {other:?}")),
                None => fail(format!(
                    "a job panicked with a string literal (a &'static str payload), but join's Err carries {}, \
                     which is not a &'static str: {untouched}",
                    describe_payload(&*payload)
                )),
            },
        }
        match join_panicked(t, formatted, "a job that panicked with a formatted message") {
            Ok(v) => fail(format!("join returned Ok({v}) for a job that panicked: it must return Err(payload)")),
            Err(payload) => match payload.downcast_ref::<String>() {
                Some(s) if s == "step 5: job 2 panics on purpose" => {}
                Some(other) => fail(format!("the job panicked with \"step 5: job 2 panics on purpose\", join's Err carries {other:?}")),
                None => fail(format!(
                    "a job panicked with a formatted message (a String payload), but join's Err carries {}: {untouched}",
                    describe_payload(&*payload)
                )),
            },
        }
        match join_panicked(t, other, "a job that panicked with std::panic::panic_any(a value that is not a string)") {
            Ok(v) => fail(format!("join returned Ok({v}) for a job that panicked: it must return Err(payload)")),
            Err(payload) => match payload.downcast_ref::<OnPurpose>() {
                Some(OnPurpose(7)) => {}
                Some(other) => fail(format!("the job panicked with OnPurpose(7), join's Err carries {other:?}")),
                None => fail(format!(
                    "a job panicked with std::panic::panic_any(OnPurpose(7)), but join's Err carries {}: {untouched}. \
                     A payload can be any type, not only a string",
                    describe_payload(&*payload)
                )),
            },
        }
        t.stage("spawning a job after three panics", SPAWN_HINT);
        let after = pool.spawn(|| 7);
        match join(t, after, "a job spawned after three panicking ones") {
            Ok(7) => {}
            other => fail(format!("after three jobs panicked, spawn(|| 7).join() gave {other:?}")),
        }
    });
}

/// What a payload is, for a verdict.
fn describe_payload(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("the &str {s:?}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("the String {s:?}")
    } else if let Some(p) = payload.downcast_ref::<OnPurpose>() {
        format!("{p:?}")
    } else {
        "a payload of some other type".into()
    }
}

const PANIC_JOIN_HINT: &str = "if join waits forever for a job that panicked, nothing was ever sent to its \
     handle: the panic unwound past the code that hands the result over. Catch the job's panic inside spawn's \
     wrapper (std::panic::catch_unwind), then hand over the Err like any other result";

/// Joins the handle of a job that panics.
fn join_panicked<T: Send + 'static>(t: &Ctx, handle: JobHandle<T>, what: &str) -> thread::Result<T> {
    join_with(t, handle, what, PANIC_JOIN_HINT)
}

#[test]
fn step5_spawned_jobs_run_on_the_workers() {
    graded(|t| {
        // Both workers are kept busy by execute'd jobs; spawned jobs must
        // queue behind them like any other job and then run on those same
        // two threads: spawn is execute plus a way back.
        let pool = t.pool(2);
        let gate = Gate::new();
        let (id_tx, id_rx) = std::sync::mpsc::channel();
        t.stage("submitting 2 jobs that keep both workers busy", SPAWN_HINT);
        for _ in 0..2 {
            let (gate, id_tx) = (gate.clone(), id_tx.clone());
            pool.execute(move || {
                let _ = id_tx.send(thread::current().id());
                gate.enter();
            });
        }
        let inside = gate.wait_for(2);
        check(inside == 2, || format!("only {inside} of 2 jobs started on a pool of 2 (see step 2)"));
        let workers: Vec<_> = id_rx.try_iter().collect();
        let started = Counter::new();
        t.stage("spawning 20 jobs while both workers are busy", SPAWN_HINT);
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let started = started.clone();
                pool.spawn(move || {
                    started.bump();
                    thread::current().id()
                })
            })
            .collect();
        // None may start while both workers are busy. (A correct pool can
        // never fail this; a thread per spawned job fails it at once.)
        let jumped = eventually(Duration::from_millis(300), || started.get() > 0);
        gate.open();
        check(!jumped, || {
            "a spawned job started while both workers of a pool of 2 were busy with execute'd jobs: spawn must \
             queue its job for the pool's workers (wrap it and call execute), not start a thread for it"
                .into()
        });
        for (i, handle) in handles.into_iter().enumerate() {
            match join(t, handle, &format!("spawned job {i} of 20")) {
                Ok(id) => check(workers.contains(&id), || {
                    format!(
                        "spawned job {i} ran on a thread that is not one of the pool's 2 workers: spawn must hand \
                         its job to the workers (through execute), not start a thread of its own"
                    )
                }),
                Err(e) => fail(format!("spawned job {i} gave Err({}) but did not panic", payload_text(&*e))),
            }
        }
    });
}

#[test]
fn step5_join_after_the_pool_is_dropped() {
    graded(|t| {
        let pool = t.pool(2);
        let gate = Gate::new();
        t.stage("spawning 2 jobs that keep the workers busy, then 10 more", SPAWN_HINT);
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                pool.spawn(move || gate.enter())
            })
            .collect();
        let handles: Vec<_> = (0..10u32).map(|i| pool.spawn(move || i + 1000)).collect();
        gate.open_after(Duration::from_millis(50));
        t.shutdown(pool, "dropping the pool with spawned jobs queued", DROP_HINT);
        for handle in busy {
            check(join(t, handle, "a job that was running when the pool was dropped").is_ok(), || {
                "a job that was running when the pool was dropped gave Err".into()
            });
        }
        for (i, handle) in handles.into_iter().enumerate() {
            match join(t, handle, &format!("handle {i} after the pool was dropped")) {
                Ok(v) => check(v == i as u32 + 1000, || format!("handle {i} gave {v} after the drop")),
                Err(e) => fail(format!(
                    "a job queued before the pool was dropped gave Err({}): drop runs every queued job, so its \
                     result must be there",
                    payload_text(&*e)
                )),
            }
        }
    });
}

#[test]
fn step5_handles_may_be_dropped_unjoined() {
    graded(|t| {
        let pool = t.pool(2);
        let ran = Counter::new();
        t.stage("spawning 20 jobs and dropping half of the handles", SPAWN_HINT);
        let mut kept = Vec::new();
        for i in 0..20u32 {
            let ran = ran.clone();
            let handle = pool.spawn(move || {
                ran.bump();
                i
            });
            if i % 2 == 0 {
                kept.push((i, handle));
            } // else: dropped here, never joined
        }
        t.stage("waiting for 20 jobs, half of them with their handle dropped", JOIN_HINT);
        let count = ran.wait_for(20);
        check(count == 20, || {
            format!(
                "only {count} of 20 spawned jobs ran while 10 handles were kept, not yet joined, and 10 dropped \
                 (waited {WAIT:?}): a worker is waiting for a handle to take its result. The result must be \
                 stored for the handle (a channel with room for it: sync_channel(1) or channel(), not \
                 sync_channel(0)), so the worker goes on at once; a send that fails because the handle was \
                 dropped is fine to ignore"
            )
        });
        for (i, handle) in kept {
            match join(t, handle, &format!("handle {i}")) {
                Ok(v) => check(v == i, || format!("handle {i} gave Ok({v})")),
                Err(e) => fail(format!("handle {i} gave Err({})", payload_text(&*e))),
            }
        }
    });
}
