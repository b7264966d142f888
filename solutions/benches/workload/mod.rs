//! What `pools` and `interleaved` both measure: the pools, one trait to
//! drive them all, and the bursts of tiny jobs. (A folder with a `mod.rs`,
//! so that cargo does not take it for a bench of its own.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

// Step 7's first design is not a crate of its own (it is one change to the
// reference): the bench compiles it in. The later designs are `fast_pool`.
#[allow(dead_code)]
#[path = "../../fast/channel.rs"]
mod channel;

pub const JOBS: usize = 10_000;
/// `nested_jobs`: PARENTS jobs, each submitting JOBS / PARENTS tiny ones.
pub const PARENTS: usize = 100;

pub fn cpus() -> usize {
    thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// What the bench does with a pool: submit a job, and one round trip.
/// `run` takes the closure itself, as a caller's `execute` does: a pool
/// that boxes jobs boxes it once, and one that need not box, does not.
pub trait Pool: Send + Sync + Sized + 'static {
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
pub trait OnEachPool {
    fn on<P: Pool>(&mut self, name: &str, pool: Arc<P>);
}

/// Hands every pool the groups compare to `bench`, each built with `n`
/// workers. (rayon's `scope` and a thread per job are measured apart: they
/// have no `execute`.)
pub fn each_pool(n: usize, bench: &mut impl OnEachPool) {
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
pub fn tiny_job(count: &Arc<AtomicUsize>, done: &mpsc::Sender<()>) -> impl FnOnce() + Send + 'static {
    let (count, done) = (Arc::clone(count), done.clone());
    move || {
        if count.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
            done.send(()).unwrap();
        }
    }
}

/// Submits JOBS tiny jobs from this thread and waits until the last has run.
pub fn burst(pool: &Arc<impl Pool>) {
    let count = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for _ in 0..JOBS {
        pool.run(tiny_job(&count, &done_tx));
    }
    done_rx.recv().unwrap();
}

/// Submits PARENTS jobs that each submit JOBS / PARENTS tiny jobs to the
/// same pool, and waits until the last tiny job has run.
pub fn nested(pool: &Arc<impl Pool>) {
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

pub fn rayon_pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap()
}

/// rayon's version of `burst`. `scope` runs its closure on a worker of
/// the pool, so these jobs are pushed onto that worker's own deque; it
/// returns once every job spawned in it has run.
pub fn rayon_burst(rayon: &rayon::ThreadPool) {
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
pub fn rayon_nested(rayon: &rayon::ThreadPool) {
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

