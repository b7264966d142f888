//! Lab 1 quick mode: every figure of the lab in under a minute, with its
//! spread, the machine it was measured on, and perf bench / lmbench figures
//! for the same quantities when those tools are installed.
//!
//!     cargo run --release -p lab1-measure [-- --json FILE --csv FILE]

use lab1_measure::results::{human, Comparison, Figure, Machine, Results};
use lab1_measure::stats::{sample, spread, Spread};
use lab1_measure::workload::Job;
use lab1_measure::{create, memory, switch, tools, workload};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: cargo run --release -p lab1-measure -- [OPTIONS]

Measures creating, switching between and holding processes, threads and
tasks, plus a CPU-bound and an I/O-bound job split across N of each, and
compares with `perf bench sched pipe` and lmbench when they are installed.

options:
  --quick          a much smaller budget (seconds; for tests, figures noisier)
  --json FILE      also write the results as JSON (input of lab1-chart)
  --csv FILE       also write the results as CSV
  --no-tools       do not run perf or lmbench
  --repeats N      repeats per figure (default 7, at least 2)
  -h, --help       this text

chart:  cargo run -p lab1-measure --bin lab1-chart -- FILE.json > chart.svg
full criterion suite with HTML report:  cargo bench -p lab1-measure";

struct Options {
    quick: bool,
    json: Option<PathBuf>,
    csv: Option<PathBuf>,
    tools: bool,
    repeats: usize,
}

fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut o = Options { quick: false, json: None, csv: None, tools: true, repeats: 7 };
    let mut repeats_given = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quick" => o.quick = true,
            "--no-tools" => o.tools = false,
            "--json" => o.json = Some(value("--json")?.into()),
            "--csv" => o.csv = Some(value("--csv")?.into()),
            "--repeats" => {
                let v = value("--repeats")?;
                o.repeats = v.parse().map_err(|_| format!("--repeats wants a whole number, got {v:?}"))?;
                if o.repeats < 2 {
                    return Err("--repeats must be at least 2 (a spread needs two values)".into());
                }
                repeats_given = true;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.quick && !repeats_given {
        o.repeats = 3;
    }
    Ok(Some(o))
}

/// The sizes of everything, from the budget.
struct Budget {
    target: Duration,
    mem_n: (usize, usize, usize),
    mem_repeats: usize,
    cpu_limit: u64,
    cpu_units: Vec<usize>,
    io: (u64, Duration),
    io_units: Vec<usize>,
    work_repeats: usize,
    pipe_loops: u64,
    free_loops: u64,
    forks: u64,
    rounds: usize,
}

impl Budget {
    fn new(o: &Options) -> Budget {
        if o.quick {
            Budget {
                target: Duration::from_millis(4),
                mem_n: (10, 4, 1000),
                mem_repeats: 2,
                cpu_limit: 50_000,
                cpu_units: vec![1, 2],
                io: (8, Duration::from_millis(1)),
                io_units: vec![1, 8],
                work_repeats: 2,
                // perf times its own fork and wait too: fewer loops than
                // this and they are a visible share of its figure.
                pipe_loops: 10_000,
                free_loops: 200,
                forks: 20,
                rounds: 2,
            }
        } else {
            Budget {
                target: Duration::from_millis(60),
                mem_n: (200, 50, 20_000),
                mem_repeats: 3,
                cpu_limit: 600_000,
                cpu_units: vec![1, 2, 4, 16, 64],
                io: (64, Duration::from_millis(2)),
                io_units: vec![1, 4, 16, 64],
                work_repeats: 3,
                pipe_loops: 50_000,
                free_loops: 4_000,
                forks: 500,
                rounds: 3,
            }
        }
    }
}

struct Lab {
    figures: Vec<Figure>,
    step: usize,
    started: Instant,
}

impl Lab {
    fn progress(&mut self, what: &str) {
        self.step += 1;
        eprint!("[{:>5.1} s] {:>2}. {what:<60}", self.started.elapsed().as_secs_f64(), self.step);
    }

    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, group: &str, key: &str, label: &str, model: &str, unit: &str, per: &str, values: &[f64]) -> Spread {
        let s = spread(values);
        eprintln!(" {}  ({} – {})", human(s.median, unit), human(s.min, unit), human(s.max, unit));
        self.figures.push(Figure { group: group.into(), key: key.into(), label: label.into(), model: model.into(), unit: unit.into(), per: per.into(), spread: s });
        s
    }

    /// Times an operation (`op(iters) -> Duration`) and records ns per op.
    #[allow(clippy::too_many_arguments)]
    fn time(&mut self, b: &Budget, o: &Options, group: &str, key: &str, label: &str, model: &str, per: &str, max_iters: u64, op: impl FnMut(u64) -> Duration) {
        self.progress(label);
        let values = sample(op, b.target, o.repeats, max_iters);
        self.record(group, key, label, model, "ns", per, &values);
    }
}

fn machine(o: &Options) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    Machine {
        cpu_model,
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".into()),
        build: if cfg!(debug_assertions) { "debug".into() } else { "release".into() },
        budget: if o.quick { format!("--quick budget, {} repeats", o.repeats) } else { format!("full budget, {} repeats", o.repeats) },
    }
}

/// "Unpinned" must mean it: the pinned measurements restore this thread's
/// CPU set, and this checks they did.
fn assert_unpinned() {
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("/proc/thread-self/status");
    let allowed = status.lines().find(|l| l.starts_with("Cpus_allowed_list")).unwrap_or("?").to_string();
    let process = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let process_allowed = process.lines().find(|l| l.starts_with("Cpus_allowed_list")).unwrap_or("?").to_string();
    assert_eq!(allowed, process_allowed, "the main thread is still pinned after a pinned measurement");
}

/// Runs one memory probe in a fresh copy of this program and parses its
/// "value<TAB>label" lines.
fn probe(kind: &str, n: usize) -> Vec<(String, f64)> {
    probe_with(&[kind, &n.to_string()])
}

fn probe_with(args: &[&str]) -> Vec<(String, f64)> {
    let kind = args[0];
    let exe = std::env::current_exe().expect("cannot find this program's path");
    let out = Command::new(exe).arg("__probe").args(args).output().expect("cannot start the memory probe");
    assert!(out.status.success(), "memory probe {kind} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("probe output is UTF-8")
        .lines()
        .map(|l| {
            let (v, label) = l.split_once('\t').expect("probe line is value<TAB>label");
            (label.to_string(), v.parse().expect("probe value is a number"))
        })
        .collect()
}

fn run_probe(args: &[String]) -> ! {
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).expect("probe wants a count");
    let figures = match args.first().map(String::as_str) {
        Some("threads") => memory::per_thread(n),
        Some("processes") => memory::per_process(n),
        Some("tasks") => memory::per_task(n),
        Some("fork") => {
            // fork + exit + wait timed in a small, fresh, single-threaded
            // process, like lmbench's own: fork's cost grows with the
            // parent's page tables, so a big parent would not be comparable.
            let _old = args.get(2).map(|c| switch::pin_this_thread(c.parse().expect("probe wants a CPU number")));
            let took = create::fork_exit_wait(n as u64);
            vec![("ns per fork + exit + wait", took.as_nanos() as f64 / n as f64)]
        }
        Some("forkbig") => {
            // fork + exit + wait from a parent that has touched `n` MiB: the
            // child needs a copy of every page-table entry mapping them.
            let repeats: usize = args.get(2).and_then(|s| s.parse().ok()).expect("probe wants a repeat count");
            let target_ms: u64 = args.get(3).and_then(|s| s.parse().ok()).expect("probe wants a target time");
            let ballast = vec![1u8; n << 20]; // non-zero, so every page is really written
            let values = sample(create::fork_exit_wait, Duration::from_millis(target_ms), repeats, 100_000);
            std::hint::black_box(&ballast);
            values.into_iter().map(|v| ("ns per fork + exit + wait", v)).collect()
        }
        Some(kind @ ("pipe-processes" | "pipe-threads")) => {
            // The pinned pipe ping-pong in a small, fresh, single-threaded
            // process, as `perf bench sched pipe` runs it: the lab's own
            // process is large and multi-threaded by the time the tools run.
            let cpu: usize = args.get(2).and_then(|s| s.parse().ok()).expect("probe wants a CPU number");
            let took = if kind == "pipe-processes" {
                switch::pipe_pingpong_processes(n as u64, Some(cpu))
            } else {
                switch::pipe_pingpong_threads(n as u64, Some(cpu))
            };
            vec![("ns per pipe round trip", took.as_nanos() as f64 / n as f64)]
        }
        Some("exec") => {
            let took = create::fork_exec_wait("/bin/true", n as u64);
            vec![("ns per fork + exec /bin/true + wait", took.as_nanos() as f64 / n as f64)]
        }
        other => panic!("unknown probe {other:?}"),
    };
    for (label, value) in figures {
        println!("{value}\t{label}");
    }
    std::process::exit(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__probe") {
        run_probe(&args[1..]);
    }
    let o = match parse_args(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("lab1-measure: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let b = Budget::new(&o);
    let m = machine(&o);
    let cpu = switch::first_allowed_cpu();
    let mut notes = vec![format!("Pinned figures run both sides on CPU {cpu} (sched_setaffinity); unpinned ones let the scheduler place them.")];
    if m.build == "debug" {
        eprintln!("warning: this is a debug build; run with --release for figures worth comparing");
        notes.push("Debug build: figures are not representative.".into());
    }
    eprintln!("Lab 1 on {}, {} CPUs, Linux {} ({})", m.cpu_model, m.cpus, m.kernel, m.budget);
    let mut lab = Lab { figures: Vec::new(), step: 0, started: Instant::now() };

    // Creation first, while this process is still small: fork copies the
    // page tables, so its cost grows with the memory the parent has touched.
    let per_unit = "per unit: create, run nothing, wait";
    lab.time(&b, &o, "creation", "fork_exit_wait", "fork + _exit + waitpid", "process", per_unit, 100_000, create::fork_exit_wait);
    lab.time(&b, &o, "creation", "fork_exec_true", "fork + exec /bin/true + waitpid", "process", per_unit, 100_000, |n| create::fork_exec_wait("/bin/true", n));
    lab.time(&b, &o, "creation", "posix_spawn_true", "posix_spawn /bin/true + waitpid", "process", per_unit, 100_000, |n| create::posix_spawn_wait("/bin/true", n));
    lab.time(&b, &o, "creation", "command_true", "Command::new(\"/bin/true\").status()", "process", per_unit, 100_000, |n| create::command_status("/bin/true", n));
    lab.time(&b, &o, "creation", "thread_spawn_join", "thread::spawn + join", "thread", per_unit, 1_000_000, create::thread_spawn_join);
    lab.time(&b, &o, "creation", "thread_scope", "thread::scope, one spawn", "thread", per_unit, 1_000_000, create::thread_scope);
    let big = if o.quick { 32 } else { 256 };
    lab.progress(&format!("fork + _exit + waitpid, parent with {big} MiB touched"));
    let values: Vec<f64> = probe_with(&["forkbig", &big.to_string(), &o.repeats.to_string(), &b.target.as_millis().to_string()]).into_iter().map(|(_, v)| v).collect();
    lab.record("creation", "fork_exit_wait_big", &format!("fork + _exit + waitpid, {big} MiB parent"), "process", "ns", per_unit, &values);
    let ct = create::current_thread_runtime();
    let mt = create::multi_thread_runtime(m.cpus.max(2));
    lab.time(&b, &o, "creation", "task_spawn_ct", "tokio::spawn + await (current-thread)", "task", per_unit, 100_000_000, |n| create::task_spawn_await(&ct, n));
    lab.time(&b, &o, "creation", "task_spawn_mt", "tokio::spawn + await (multi-thread)", "task", per_unit, 100_000_000, |n| create::task_spawn_await(&mt, n));
    let workers = m.cpus.max(2);
    let naive = pool_04_shutdown::ThreadPool::new(workers);
    lab.time(&b, &o, "creation", "pool_round_trip", &format!("naive pool ({workers} workers): execute + wait"), "pool", "per job: hand over, run nothing, hear back", 10_000_000, |n| lab1_measure::pool::round_trip(&naive, n));
    drop(naive);

    let rt = "per round trip (2 switches when pinned)";
    let pin = Some(cpu);
    lab.time(&b, &o, "switch", "pipe_proc_pinned", "pipe ping-pong, 2 processes, pinned", "process", rt, 10_000_000, |n| switch::pipe_pingpong_processes(n, pin));
    lab.time(&b, &o, "switch", "pipe_thread_pinned", "pipe ping-pong, 2 threads, pinned", "thread", rt, 10_000_000, |n| switch::pipe_pingpong_threads(n, pin));
    lab.time(&b, &o, "switch", "condvar_pinned", "Mutex+Condvar ping-pong, 2 threads, pinned", "thread", rt, 10_000_000, |n| switch::condvar_pingpong(n, pin));
    lab.time(&b, &o, "switch", "channel_pinned", "mpsc channel ping-pong, 2 threads, pinned", "thread", rt, 10_000_000, |n| switch::channel_pingpong(n, pin));
    lab.time(&b, &o, "switch", "task_pingpong", "tokio mpsc ping-pong, 2 tasks, one thread", "task", rt, 100_000_000, |n| switch::task_pingpong(&ct, n));
    // How many times does the measuring thread itself get switched out per
    // round trip? Counted by the kernel, not inferred from the time.
    type Counted<'a> = (&'a str, &'a str, &'a str, &'a dyn Fn(u64) -> Duration);
    let counted: [Counted; 5] = [
        ("pipe_proc_pinned", "pipe, 2 processes", "process", &|n| switch::pipe_pingpong_processes(n, pin)),
        ("pipe_thread_pinned", "pipe, 2 threads", "thread", &|n| switch::pipe_pingpong_threads(n, pin)),
        ("condvar_pinned", "Mutex+Condvar, 2 threads", "thread", &|n| switch::condvar_pingpong(n, pin)),
        ("channel_pinned", "mpsc channel, 2 threads", "thread", &|n| switch::channel_pingpong(n, pin)),
        ("task_pingpong", "tokio mpsc, 2 tasks", "task", &|n| switch::task_pingpong(&ct, n)),
    ];
    let trips = if o.quick { 500 } else { 20_000 };
    for (key, label, model, op) in counted {
        lab.progress(&format!("switches per round trip: {label}"));
        let pairs: Vec<(f64, f64)> = (0..o.repeats)
            .map(|_| {
                let (v0, i0) = switch::thread_switches();
                op(trips);
                let (v1, i1) = switch::thread_switches();
                let per = |d: i64| d as f64 / (trips + switch::WARM_UP) as f64;
                (per(v1 - v0), per(i1 - i0))
            })
            .collect();
        eprint!(" voluntary");
        let voluntary: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        lab.record("switch-count", &format!("{key}_voluntary"), &format!("{label}: voluntary (blocked)"), model, "switches", "voluntary switches of the measuring thread per round trip", &voluntary);
        lab.progress(&format!("switches per round trip: {label}"));
        eprint!(" involuntary");
        let values: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        lab.record("switch-count", &format!("{key}_involuntary"), &format!("{label}: involuntary (preempted)"), model, "switches", "involuntary switches of the measuring thread per round trip", &values);
    }

    assert_unpinned();
    lab.time(&b, &o, "switch", "pipe_proc_free", "pipe ping-pong, 2 processes, unpinned", "process", rt, 10_000_000, |n| switch::pipe_pingpong_processes(n, None));
    lab.time(&b, &o, "switch", "pipe_thread_free", "pipe ping-pong, 2 threads, unpinned", "thread", rt, 10_000_000, |n| switch::pipe_pingpong_threads(n, None));
    lab.time(&b, &o, "switch", "condvar_free", "Mutex+Condvar ping-pong, 2 threads, unpinned", "thread", rt, 10_000_000, |n| switch::condvar_pingpong(n, None));
    lab.time(&b, &o, "switch", "channel_free", "mpsc channel ping-pong, 2 threads, unpinned", "thread", rt, 10_000_000, |n| switch::channel_pingpong(n, None));

    let (nt, np, nk) = b.mem_n;
    for (kind, model, n) in [("threads", "thread", nt), ("processes", "process", np), ("tasks", "task", nk)] {
        lab.progress(&format!("memory: {n} idle {kind}, each in a fresh probe process"));
        let runs: Vec<Vec<(String, f64)>> = (0..b.mem_repeats).map(|_| probe(kind, n)).collect();
        eprintln!(" done");
        for (i, (label, _)) in runs[0].iter().enumerate() {
            let values: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
            lab.progress(&format!("  {model}: {label}"));
            lab.record("memory", &format!("mem_{model}_{i}"), &format!("{model}: {label}"), model, "KiB", &format!("per {model}, {n} of them"), &values);
        }
    }

    let cpu_job = Job::Cpu { limit: b.cpu_limit };
    let io_job = Job::Io { waits: b.io.0, wait: b.io.1 };
    let work_rt = create::multi_thread_runtime(m.cpus.max(2));
    for (group, job, units_list, what) in [("workload-cpu", cpu_job, &b.cpu_units, "primes"), ("workload-io", io_job, &b.io_units, "waits")] {
        let expected = workload::run_threads(job, 1);
        for &units in units_list {
            for model in ["process", "thread", "task"] {
                lab.progress(&format!("{group}: N = {units}, {model} per unit"));
                let values: Vec<f64> = (0..b.work_repeats)
                    .map(|_| {
                        let start = Instant::now();
                        let got = match model {
                            "process" => workload::run_processes(job, units),
                            "thread" => workload::run_threads(job, units),
                            _ => workload::run_tasks(&work_rt, job, units),
                        };
                        let took = start.elapsed();
                        assert_eq!(got, expected, "{units} {model} units found {got} {what}, one unit found {expected}");
                        took.as_secs_f64() * 1e3
                    })
                    .collect();
                let label = format!("N = {units}");
                lab.record(group, &format!("{group}_{model}_{units}"), &label, model, "ms", "wall time for the whole job", &values);
            }
        }
    }
    let (waits, wait) = b.io;
    notes.push(format!(
        "CPU job: count the primes below {} by trial division (blocks of {} dealt round-robin). I/O job: {waits} waits of {wait:?}, unit i serves every N-th; tasks run on a {}-worker tokio runtime.",
        b.cpu_limit,
        workload::BLOCK,
        m.cpus.max(2)
    ));
    notes.push("perf bench sched pipe prints usecs/op where one op is one round trip; lmbench lat_ctx prints one switch (its pipe overhead subtracted); lat_proc prints one fork + exit + wait (or exec).".into());

    let mut comparisons = Vec::new();
    if o.tools {
        compare_with_tools(&mut lab, &b, cpu, &mut comparisons, &mut notes);
    } else {
        notes.push("perf and lmbench not run (--no-tools).".into());
    }

    let results = Results { machine: m, figures: lab.figures, comparisons, notes };
    eprintln!("finished in {:.1} s\n", lab.started.elapsed().as_secs_f64());
    println!("{}", results.to_markdown());
    println!("criterion suite with plots: cargo bench -p lab1-measure (report: target/criterion/report/index.html)");
    if let Some(path) = &o.json {
        std::fs::write(path, serde_json::to_string_pretty(&results).expect("serialise")).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("wrote {}", path.display());
    }
    if let Some(path) = &o.csv {
        std::fs::write(path, results.to_csv()).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        println!("wrote {}", path.display());
    }
}

/// Runs the lab's operation and the tool alternately, `rounds` times each,
/// so both see the same machine conditions, and records the pair.
#[allow(clippy::too_many_arguments)]
fn pair(
    lab: &mut Lab,
    out: &mut Vec<Comparison>,
    notes: &mut Vec<String>,
    rounds: usize,
    quantity: &str,
    lab_key: &str,
    held_to_bar: bool,
    mut lab_op: impl FnMut() -> f64,
    tool_name: &str,
    run: tools::ToolRun,
    parse: fn(&str) -> Result<f64, String>,
) {
    lab.progress(&format!("{quantity} vs {tool_name}"));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(lab_op());
        // Pairs shown for context get a shorter leash than the ones held to
        // the accuracy bar, so that a stalled tool cannot eat the minute.
        let limit = if held_to_bar { tools::TOOL_TIMEOUT } else { Duration::from_secs(10) };
        match run.run_within(limit).and_then(|t| parse(&t)) {
            Ok(v) => theirs.push(v),
            Err(e) => {
                eprintln!(" skipped: {e}");
                notes.push(format!("{tool_name} for {quantity}: {e}"));
                return;
            }
        }
    }
    let (l, t) = (spread(&ours), spread(&theirs));
    let ratio = l.median / t.median;
    eprintln!(" lab {} vs {} (ratio {ratio:.2})", human(l.median, "ns"), human(t.median, "ns"));
    out.push(Comparison { quantity: quantity.into(), lab_key: lab_key.into(), lab: l, tool: tool_name.into(), command: run.shown(), reference: t, unit: "ns".into(), ratio, held_to_bar });
}

fn compare_with_tools(lab: &mut Lab, b: &Budget, cpu: usize, out: &mut Vec<Comparison>, notes: &mut Vec<String>) {
    let per = |d: Duration, n: u64| d.as_nanos() as f64 / n as f64;
    let (loops, free, forks, rounds) = (b.pipe_loops, b.free_loops, b.forks, b.rounds);
    assert_unpinned();
    match tools::find_perf() {
        Some(perf) => {
            let pp = |threads, n, pin| tools::perf_pipe(&perf, threads, n, pin);
            // The held pairs run the lab's loop in a fresh small process, as
            // perf runs its own; the third pair runs it from this process
            // (large, several threads), to show whether that matters here.
            let (n, c) = (loops.to_string(), cpu.to_string());
            let fresh = |kind: &str| probe_with(&[kind, &n, &c])[0].1;
            pair(lab, out, notes, rounds, "pipe round trip, 2 processes, pinned (fresh process)", "pipe_proc_pinned", true, || fresh("pipe-processes"), "perf", pp(false, loops, Some(cpu)), tools::parse_perf);
            pair(lab, out, notes, rounds, "pipe round trip, 2 threads, pinned (fresh process)", "pipe_thread_pinned", true, || fresh("pipe-threads"), "perf", pp(true, loops, Some(cpu)), tools::parse_perf);
            pair(lab, out, notes, rounds, "pipe round trip, 2 processes, pinned, forked from the lab's own process", "pipe_proc_pinned", false, || per(switch::pipe_pingpong_processes(loops, Some(cpu)), loops), "perf", pp(false, loops, Some(cpu)), tools::parse_perf);
            pair(lab, out, notes, rounds, "pipe round trip, 2 processes, unpinned", "pipe_proc_free", false, || per(switch::pipe_pingpong_processes(free, None), free), "perf", pp(false, free, None), tools::parse_perf);
        }
        None => notes.push("perf not found (or `perf bench` does not run on this kernel): no perf comparison. Debian: apt-get install linux-perf.".into()),
    }
    match tools::find_lmbench() {
        Some(dir) => {
            let lm = |prog: &str, args: &[&str], pin| tools::lmbench(&dir, prog, args, pin);
            let n = forks.to_string();
            let fork_probe = |pin: Option<usize>| {
                let cpu = pin.map(|c| c.to_string());
                let mut args = vec!["fork", n.as_str()];
                args.extend(cpu.as_deref());
                probe_with(&args)[0].1
            };
            pair(lab, out, notes, rounds, "fork + exit + wait (small parent)", "fork_exit_wait", true, || fork_probe(None), "lmbench", lm("lat_proc", &["fork"], None), tools::parse_lmbench_micros);
            match tools::ensure_lmbench_hello(&dir) {
                Ok(note) => {
                    if let Some(n) = note {
                        eprintln!("note: {n}");
                        notes.push(n);
                    }
                    let execs = (forks / 4).max(5);
                    let n = execs.to_string();
                    pair(lab, out, notes, rounds, "fork + exec + wait (small parent; /bin/true vs lmbench's hello)", "fork_exec_true", false, || probe_with(&["exec", &n])[0].1, "lmbench", lm("lat_proc", &["exec"], None), tools::parse_lmbench_micros);
                }
                Err(e) => notes.push(format!("lat_proc exec skipped: {e} (without that file it would time a failed exec)")),
            }
            pair(lab, out, notes, rounds, "one switch, 2 processes, pinned (half a pipe round trip)", "pipe_proc_pinned", false, || per(switch::pipe_pingpong_processes(loops, Some(cpu)), loops) / 2.0, "lmbench", lm("lat_ctx", &["-s", "0", "2"], Some(cpu)), tools::parse_lat_ctx);
        }
        None => notes.push("lmbench not found: no lmbench comparison. Debian: enable the non-free component, apt-get install lmbench (binaries land in /usr/lib/lmbench/bin/<arch>/, or set LMBENCH_BIN).".into()),
    }
}
