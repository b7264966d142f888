//! A different job mix: long jobs beside many short ones. A pool whose
//! workers share one queue keeps the short jobs flowing through the free
//! workers; a pool that deals jobs out to its workers in turn (a queue per
//! worker) leaves every short job dealt to a busy worker waiting.

mod common;

use common::{eventually, within};
use exercises::ThreadPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

#[test]
fn hidden_long_jobs_do_not_hold_back_short_ones() {
    within("short jobs ran beside long ones", || {
        for (threads, long) in [(2, 1), (3, 2), (4, 1)] {
            let pool = ThreadPool::new(threads);
            let mut releases = Vec::new();
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..long {
                let (release, wait) = mpsc::channel::<()>();
                let started = Arc::clone(&started);
                pool.execute(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = wait.recv();
                });
                releases.push(release);
            }
            assert!(
                eventually(|| started.load(Ordering::SeqCst) == long),
                "a pool of {threads} did not start {long} long job(s) at once"
            );
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..100 {
                let done = Arc::clone(&done);
                pool.execute(move || {
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
            let all = eventually(|| done.load(Ordering::SeqCst) == 100);
            assert!(
                all,
                "on a pool of {threads} with {long} worker(s) busy on a long job, only {} of 100 short jobs ran: \
                 the free workers must take every queued job, so the workers must share one queue rather than \
                 each get its own share of the jobs",
                done.load(Ordering::SeqCst)
            );
            drop(releases);
            drop(pool);
        }
    });
}

#[test]
fn hidden_results_of_every_shape_come_back() {
    within("joining handles of several result types", || {
        #[derive(Debug, PartialEq)]
        struct Custom(u32);
        let pool = ThreadPool::new(3);
        let text = pool.spawn(|| "pool".repeat(3));
        let bytes = pool.spawn(|| vec![7u8; 100_000]);
        let unit = pool.spawn(|| ());
        let nested = pool.spawn(|| Some(Ok::<_, String>(Box::new(41 + 1))));
        let custom = pool.spawn(|| -> u32 { std::panic::panic_any(Custom(7)) });
        let total = std::hint::black_box(4);
        let formatted = pool.spawn(move || -> u32 { panic!("job {} of {total}", 3) });
        assert_eq!(text.join().unwrap(), "poolpoolpool");
        assert_eq!(bytes.join().unwrap().len(), 100_000);
        unit.join().expect("a job returning () comes back as Ok(())");
        assert_eq!(nested.join().unwrap(), Some(Ok(Box::new(42))));
        let payload = custom.join().expect_err("a panicking job comes back as Err");
        assert_eq!(
            payload.downcast_ref::<Custom>(),
            Some(&Custom(7)),
            "a job that panicked with panic_any(Custom(7)) must come back with that very payload, \
             not a message made from it: pass catch_unwind's Box<dyn Any + Send> on unchanged"
        );
        let payload = formatted.join().expect_err("a panicking job comes back as Err");
        // A formatted message is a String, or a &str when the compiler could
        // format it at compile time: either way, the text must be intact.
        let text = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        assert_eq!(text, Some("job 3 of 4"), "a job's panic message must come back unchanged in join's Err");
    });
}
