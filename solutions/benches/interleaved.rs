//! Lab 2, step 7: the tiny-jobs burst of `pools`, on every pool in turn,
//! round after round, so that all of them meet the same machine.
//!
//! `cargo bench -p solutions --bench interleaved -- [ROUNDS]` (default 10)
//!
//! `pools` measures one pool after another, a few seconds each. On a
//! virtual machine whose host moves its CPUs around, the cost of the same
//! burst can change two- or threefold from one second to the next, and
//! then two rows of one run were measured on different machines, in
//! effect. Here a round runs one burst on each pool in turn, `BURSTS`
//! times over, so that every pool's bursts of a round are spread over the
//! same second or so; a change of conditions shows as a round where every
//! column moves at once.
//!
//! Each figure is the median of a round's `BURSTS` bursts, per job, in ns.
//! The last columns compare step 7's fast pool with the goal of the step:
//! the cheaper of rayon's two ways, and `threadpool`. Between two bursts
//! of one pool the others run theirs, so every pool's workers have gone
//! to sleep by then: each burst starts by waking them, as in `pools` only
//! its first does.
//!
//! Before and after each round it also times one cache line handed between
//! CPUs 0 and 1 (Listing L2.17's experiment, shorter: `handoff`), the last
//! two columns: on a virtual machine whose two CPUs are sometimes on cores
//! that share a cache and sometimes not, they tell which state a round
//! met.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use nix::sched::{sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

#[allow(dead_code)]
mod workload;
use workload::*;

#[path = "../../listings/pool-06-core-handoff/src/handoff.rs"]
mod handoff;
use handoff::{pin_to, Line};

/// Timed bursts per pool and round, after `WARM_UP` untimed ones.
const BURSTS: usize = 21;
const WARM_UP: usize = 2;

/// One pool's burst, ready to run again and again.
type Burst = Box<dyn FnMut()>;

/// Collects a burst for each pool of [`each_pool`], keeping the pools alive.
struct Bursts(Vec<(String, Burst)>);

impl OnEachPool for Bursts {
    fn on<P: Pool>(&mut self, name: &str, pool: Arc<P>) {
        self.0.push((name.to_string(), Box::new(move || burst(&pool))));
    }
}

/// One round: every pool's median cost of one job, in ns, over `BURSTS`
/// bursts taken in turns.
fn one_round(bursts: &mut [(String, Burst)]) -> Vec<f64> {
    let mut ns = vec![Vec::with_capacity(BURSTS); bursts.len()];
    for turn in 0..WARM_UP + BURSTS {
        for ((_, burst), ns) in bursts.iter_mut().zip(&mut ns) {
            let start = Instant::now();
            burst();
            if turn >= WARM_UP {
                ns.push(start.elapsed().as_nanos() as f64 / JOBS as f64);
            }
        }
    }
    ns.into_iter()
        .map(|mut ns| {
            ns.sort_by(f64::total_cmp);
            ns[BURSTS / 2]
        })
        .collect()
}

/// One one-way handoff of a cache line between CPUs 0 and 1, in ns: a
/// short round of Listing L2.17 (a few milliseconds); `None` where the two
/// threads could not be pinned to them. This thread gets its own CPUs back
/// afterwards.
fn handoff() -> Option<u64> {
    static LINE: Line = Line(AtomicU64::new(0));
    let allowed = sched_getaffinity(Pid::from_raw(0)).ok()?;
    if !(allowed.is_set(0).ok()? && allowed.is_set(1).ok()?) {
        return None;
    }
    pin_to(0).ok()?;
    let one_way = handoff::round(&LINE, 2_000, 20_000);
    sched_setaffinity(Pid::from_raw(0), &allowed).expect("the CPUs this thread had");
    one_way.map(|d| d.as_nanos() as u64)
}

fn show(ns: Option<u64>) -> String {
    ns.map_or("-".to_string(), |ns| ns.to_string())
}

fn main() {
    // `cargo bench` passes `--bench`; the first number is the round count.
    let rounds = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10);
    let n = cpus();
    let mut bursts = Bursts(Vec::new());
    each_pool(n, &mut bursts);
    let rayon = rayon_pool(n);
    bursts.0.push(("rayon_scope".to_string(), Box::new(move || rayon_burst(&rayon))));
    let column = |name: &str| bursts.0.iter().position(|(n, _)| n == name).expect("a pool of each_pool");
    let (fast, threadpool) = (column("fast"), column("threadpool"));
    let rayon_columns = [column("rayon_spawn"), column("rayon_scope")];

    println!("tiny jobs, ns per job (median of {BURSTS} bursts), {n} workers per pool, {rounds} rounds");
    let names: Vec<String> = bursts.0.iter().map(|(name, _)| format!("{name:>12}")).collect();
    println!("round {} | fast/rayon fast/threadpool | handoff ns before, after", names.join(""));
    let mut met = 0;
    for round in 1..=rounds {
        let before = handoff();
        let ns = one_round(&mut bursts.0);
        let after = handoff();
        let to_rayon = ns[fast] / ns[rayon_columns[0]].min(ns[rayon_columns[1]]);
        let to_threadpool = ns[fast] / ns[threadpool];
        let row: Vec<String> = ns.iter().map(|ns| format!("{ns:>12.0}")).collect();
        let handoffs = format!("{:>7} {:>6}", show(before), show(after));
        println!("{round:>5} {} | {to_rayon:>10.2} {to_threadpool:>15.2} | {handoffs}", row.join(""));
        if to_rayon <= 1.0 && to_threadpool <= 0.8 {
            met += 1;
        }
    }
    println!("the fast pool met step 7's goal per tiny job (at most 1.0x rayon, 0.8x threadpool) in {met} of {rounds} rounds");
}
