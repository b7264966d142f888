//! The quick mode runs as a child process (it forks; forking inside the
//! test harness's threads is not allowed), under a watchdog. These tests
//! check that it works and that its figures are sane: positive, finite,
//! ordered. They never compare a figure with a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WATCHDOG: Duration = Duration::from_secs(600);

/// Runs a binary of this crate and returns its output, failing the test if
/// it has not finished within the watchdog time.
fn run(exe: &str, args: &[&str]) -> Output {
    let child = Command::new(exe).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("cannot start the binary");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(WATCHDOG) {
        Ok(out) => out.expect("waiting for the binary failed"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("`{exe} {}` did not finish within {WATCHDOG:?}: a benchmark is stuck (a ping-pong partner that never answers, or a child never reaped)", args.join(" "));
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lab1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn quick_mode_prints_sane_figures_and_writes_json_and_csv() {
    let (json, csv) = (scratch("r.json"), scratch("r.csv"));
    let out = run(env!("CARGO_BIN_EXE_lab1-measure"), &["--quick", "--no-tools", "--json", json.to_str().unwrap(), "--csv", csv.to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "quick mode failed:\n{stderr}");
    assert!(stderr.contains("1. fork + _exit + waitpid"), "no progress lines on stderr:\n{stderr}");
    for heading in ["Machine:", "Creation", "Context switch", "Memory", "CPU-bound", "I/O-bound"] {
        assert!(stdout.contains(heading), "the summary table lacks {heading:?}:\n{stdout}");
    }

    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("the JSON file does not parse");
    let machine = &results["machine"];
    assert!(machine["cpus"].as_u64().unwrap() >= 1, "CPU count missing");
    assert!(!machine["kernel"].as_str().unwrap().is_empty(), "kernel version missing");
    let figures = results["figures"].as_array().unwrap();
    for key in [
        "fork_exit_wait", "fork_exec_true", "posix_spawn_true", "command_true", "thread_spawn_join", "thread_scope",
        "task_spawn_ct", "task_spawn_mt", "pool_round_trip", "pipe_proc_pinned", "pipe_thread_pinned", "condvar_pinned",
        "channel_pinned", "task_pingpong", "pipe_proc_free", "pipe_thread_free", "condvar_free", "channel_free",
        "pipe_proc_pinned_voluntary", "condvar_pinned_involuntary", "mem_thread_0", "mem_process_0", "mem_process_1", "mem_task_0", "workload-cpu_process_2", "workload-io_task_8",
    ] {
        assert!(figures.iter().any(|f| f["key"] == key), "figure {key} is missing from the results");
    }
    for f in figures {
        let s = &f["spread"];
        let [median, min, max] = ["median", "min", "max"].map(|k| s[k].as_f64().unwrap());
        assert!(median.is_finite() && min <= median && median <= max, "{}: median {median} is not between min {min} and max {max}", f["key"]);
        // Kernel-stack growth is read system-wide and may be hidden by other
        // processes exiting at the same time; switch counts may be zero (a
        // task hand-over never enters the kernel); every cost must be > 0.
        if f["group"] == "switch-count" {
            assert!(min >= 0.0, "{}: a negative switch count", f["key"]);
        } else if !f["label"].as_str().unwrap().contains("KernelStack") {
            assert!(min > 0.0, "{}: a cost of {min} {} is not a sane measurement", f["key"], f["unit"]);
        }
    }

    // On one CPU, a pipe round trip cannot complete unless the measuring side
    // gives the CPU to its partner: at least one switch (blocked or
    // preempted) per round trip. Fewer means the partner never really ran.
    let count = |k: &str| figures.iter().find(|f| f["key"] == k).unwrap()["spread"]["median"].as_f64().unwrap();
    let switches = count("pipe_proc_pinned_voluntary") + count("pipe_proc_pinned_involuntary");
    assert!(switches >= 0.99, "the pinned pipe ping-pong's parent was switched out {switches} times per round trip, expected at least 1");

    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert!(csv_text.starts_with("group,key,label"), "CSV header missing");
    assert_eq!(csv_text.lines().count(), figures.len() + 1, "the CSV must hold one row per figure plus the header");

    for (flag, needle) in [("--svg", "</svg>"), ("--markdown", "| fork + _exit + waitpid | process |")] {
        let chart = run(env!("CARGO_BIN_EXE_lab1-chart"), &[flag, json.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&chart.stdout);
        assert!(chart.status.success(), "lab1-chart {flag} failed: {}", String::from_utf8_lossy(&chart.stderr));
        assert!(text.contains(needle), "lab1-chart {flag} output lacks {needle:?}");
    }
    let svg = String::from_utf8_lossy(&run(env!("CARGO_BIN_EXE_lab1-chart"), &[json.to_str().unwrap()]).stdout).into_owned();
    let bars = figures.iter().filter(|f| f["group"] == "creation" || f["group"] == "switch").count();
    assert_eq!(svg.matches("<rect class=\"bar\"").count(), bars, "the chart must draw one bar per creation and switch figure");
}

#[test]
fn bad_arguments_get_a_usage_error() {
    for args in [&["--bogus"][..], &["--json"], &["--repeats", "1"], &["--repeats", "many"]] {
        let out = run(env!("CARGO_BIN_EXE_lab1-measure"), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} must exit with status 2");
        assert!(stderr.contains("usage:"), "{args:?}: the error must show the usage:\n{stderr}");
    }
    let help = run(env!("CARGO_BIN_EXE_lab1-measure"), &["--help"]);
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("--json FILE"), "--help must print the usage");

    let missing = run(env!("CARGO_BIN_EXE_lab1-chart"), &["/nonexistent/results.json"]);
    assert_eq!(missing.status.code(), Some(2), "lab1-chart on a missing file must fail with status 2");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"), "lab1-chart must say why it failed");
}

/// The held pipe pairs of the accuracy check run the lab's ping-pong in a
/// fresh probe process; perf is not needed to check that the probe works.
#[test]
fn the_fresh_process_pipe_probes_print_one_positive_figure() {
    let cpu = lab1_measure::switch::first_allowed_cpu().to_string();
    for kind in ["pipe-processes", "pipe-threads"] {
        let out = run(env!("CARGO_BIN_EXE_lab1-measure"), &["__probe", kind, "200", &cpu]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "probe {kind} failed (a partner that died, or a child not reaped?):\n{}", String::from_utf8_lossy(&out.stderr));
        let (value, label) = stdout.trim().split_once('\t').unwrap_or_else(|| panic!("probe {kind}: expected one value<TAB>label line, got {stdout:?}"));
        let ns: f64 = value.parse().unwrap_or_else(|_| panic!("probe {kind}: {value:?} is not a number"));
        assert!(ns.is_finite() && ns > 0.0, "probe {kind}: a round trip must take a positive time, got {ns}");
        assert_eq!(label, "ns per pipe round trip", "probe {kind}: unexpected label");
    }
}
