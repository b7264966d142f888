//! Where a time slice comes from: reads EEVDF's base slice if the kernel
//! shows it, then runs two CPU-bound threads pinned to one CPU at different
//! nice values and compares their CPU shares with the ratio of their
//! weights (the kernel's sched_prio_to_weight table). Three pairs, 1.5 s
//! each; raising a thread's nice value needs no privilege.
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, Usage, UsageWho};
use nix::unistd::Pid;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

const RUN: Duration = Duration::from_millis(1500);

// ANCHOR: weights
/// kernel/sched/core.c, sched_prio_to_weight[], the rows for nice 0 to 19:
/// each step of nice is about 1.25 times less weight (about 10 % of CPU).
const WEIGHT: [u64; 20] = [
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, //
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];
// ANCHOR_END: weights

// ANCHOR: slice
/// EEVDF's base slice: a sysctl on some kernels, in debugfs on others
/// (6.6 and later keep it there), unreadable when debugfs is not mounted
/// or we are not root.
fn base_slice() {
    let places = ["/proc/sys/kernel/sched_base_slice_ns", "/sys/kernel/debug/sched/base_slice_ns"];
    let found = places.iter().find_map(|place| {
        let ns = std::fs::read_to_string(place).ok()?.trim().parse::<u64>().ok()?;
        Some((place, ns))
    });
    match found {
        Some((place, ns)) => println!("EEVDF base slice: {ns} ns = {:.2} ms, read from {place}", ns as f64 / 1e6),
        None => println!("EEVDF base slice: unreadable here (neither file exists; as root, mount -t debugfs none /sys/kernel/debug)"),
    }
    let cpus = thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let factor = 1 + cpus.ilog2(); // SCHED_TUNABLESCALING_LOG, the default
    println!("  the kernel's default with {cpus} CPUs: 0.75 ms x (1 + log2 {cpus}) = {:.2} ms", 0.75 * factor as f64);
}
// ANCHOR_END: slice

fn cpu_time(u: &Usage) -> Duration {
    let (user, sys) = (u.user_time(), u.system_time());
    Duration::new(user.tv_sec() as u64, user.tv_usec() as u32 * 1000)
        + Duration::new(sys.tv_sec() as u64, sys.tv_usec() as u32 * 1000)
}

// ANCHOR: spinner
/// Pins the calling thread to `cpu`, sets its own nice value (on Linux
/// setpriority with a thread id changes that one thread), waits for its
/// twin, then computes for RUN of wall time. Returns (CPU time, preemptions).
fn spinner(cpu: usize, nice: i32, start: &Barrier) -> (Duration, u64) {
    let mut set = CpuSet::new();
    set.set(cpu).unwrap();
    sched_setaffinity(Pid::from_raw(0), &set).expect("cannot pin");
    // SAFETY: plain system calls on our own thread id, no memory involved.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) };
    assert_eq!(rc, 0, "setpriority({nice}) failed: {}", std::io::Error::last_os_error());
    start.wait();
    let before = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
    let t0 = Instant::now();
    let mut x = 0u64;
    while t0.elapsed() < RUN {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    let after = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
    let preempted = (after.involuntary_context_switches() - before.involuntary_context_switches()) as u64;
    (cpu_time(&after) - cpu_time(&before), preempted)
}
// ANCHOR_END: spinner

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("machine: {cpus} CPUs, Linux {}", kernel.trim());
    base_slice();
    let cpu = cpus - 1; // the last CPU: both threads of a pair on it
    println!();
    println!("two spinning threads pinned to CPU {cpu} for {} ms of wall time, at different nice values:", RUN.as_millis());

    // ANCHOR: pairs
    for (nice_a, nice_b) in [(0, 0), (0, 5), (0, 10)] {
        let (wa, wb) = (WEIGHT[nice_a as usize], WEIGHT[nice_b as usize]);
        let predicted = wa as f64 / wb as f64;
        let start = Barrier::new(2);
        let ((cpu_a, pre_a), (cpu_b, pre_b)) = thread::scope(|s| {
            let a = s.spawn(|| spinner(cpu, nice_a, &start));
            let b = s.spawn(|| spinner(cpu, nice_b, &start));
            (a.join().unwrap(), b.join().unwrap())
        });
        let measured = cpu_a.as_secs_f64() / cpu_b.as_secs_f64();
        let turn = |cpu: Duration, n: u64| cpu.as_secs_f64() * 1e3 / n.max(1) as f64;
        println!("nice {nice_a} vs nice {nice_b}: weights {wa} vs {wb}, predicted ratio {predicted:.2}, shares {:.1} % vs {:.1} %",
            100.0 * wa as f64 / (wa + wb) as f64, 100.0 * wb as f64 / (wa + wb) as f64);
        println!("  measured: {} ms vs {} ms of CPU time, ratio {measured:.2} ({:.2} of the prediction)",
            cpu_a.as_millis(), cpu_b.as_millis(), measured / predicted);
        println!("  turns on the CPU: {:.1} ms vs {:.1} ms on average (preempted {pre_a} and {pre_b} times)",
            turn(cpu_a, pre_a), turn(cpu_b, pre_b));
    }
    // ANCHOR_END: pairs
}
