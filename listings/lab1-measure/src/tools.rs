//! The standard tools, run for the same quantities: `perf bench sched pipe`
//! and lmbench's `lat_proc`, `lat_ctx`, `lat_pipe`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The longest a tool run may take before it is killed, by default.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// A tool invocation, shown to the reader as `command`.
pub struct ToolRun {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub pin: Option<usize>,
}

impl ToolRun {
    /// The command line a reader would type (`taskset -c N` for pinning).
    pub fn shown(&self) -> String {
        let name = self.program.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let pin = self.pin.map(|c| format!("taskset -c {c} ")).unwrap_or_default();
        format!("{pin}{name} {}", self.args.join(" "))
    }

    /// Runs it (pinned if asked) and returns stdout + stderr, or why it failed.
    pub fn run(&self) -> Result<String, String> {
        self.run_within(TOOL_TIMEOUT)
    }

    /// As `run`, killing the tool if it takes longer than `timeout`
    /// (lmbench's own calibration can drag on for minutes on a busy machine).
    pub fn run_within(&self, timeout: Duration) -> Result<String, String> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(cpu) = self.pin {
            let mut set = nix::sched::CpuSet::new();
            set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
            // SAFETY: the closure runs in the child between fork and exec and
            // makes one system call (sched_setaffinity) on a set built before
            // the fork: no allocation, no lock.
            unsafe {
                cmd.pre_exec(move || {
                    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(std::io::Error::from)
                });
            }
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let pid = child.id();
        // Read stdout and stderr while the tool runs (a tool whose output
        // fills a pipe nobody drains would stall), with a watchdog.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let out = match rx.recv_timeout(timeout) {
            Ok(out) => out.map_err(|e| e.to_string())?,
            Err(_) => {
                // SAFETY (of the call, not memory): the child is not reaped
                // yet (the waiting thread is still blocked on it), so the
                // pid still names our child.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                return Err(format!("`{}` took over {timeout:?} and was killed", self.shown()));
            }
        };
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(format!("`{}` failed ({}): {}", self.shown(), out.status, text.trim()));
        }
        Ok(text)
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

/// `perf`, if it is installed and its `bench` command works on this kernel
/// (Debian's `perf` wrapper exists even when no matching binary does).
pub fn find_perf() -> Option<PathBuf> {
    let perf = on_path("perf")?;
    let probe = ToolRun { program: perf.clone(), args: vec!["bench".into(), "sched".into(), "pipe".into(), "-l".into(), "10".into()], pin: None };
    probe.run().ok().filter(|o| o.contains("usecs/op")).map(|_| perf)
}

/// `perf bench sched pipe`: `loops` round trips between two processes (or
/// two threads with `-T`). It prints `usecs/op`, where one op is one round
/// trip: a write and a read on each side (tools/perf/bench/sched-pipe.c).
pub fn perf_pipe(perf: &Path, threads: bool, loops: u64, pin: Option<usize>) -> ToolRun {
    let mut args: Vec<String> = vec!["bench".into(), "sched".into(), "pipe".into()];
    if threads {
        args.push("-T".into());
    }
    args.extend(["-l".to_string(), loops.to_string()]);
    ToolRun { program: perf.to_path_buf(), args, pin }
}

/// Nanoseconds per op from perf's "   5.111628 usecs/op" line.
pub fn parse_perf(text: &str) -> Result<f64, String> {
    text.lines()
        .find(|l| l.contains("usecs/op"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map(|us| us * 1e3)
        .ok_or_else(|| format!("no `usecs/op` line in perf's output:\n{text}"))
}

/// The directory holding lmbench's binaries: `$LMBENCH_BIN`, the `PATH`, or
/// Debian's `/usr/lib/lmbench/bin/<arch>/` (the package keeps them off PATH).
pub fn find_lmbench() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LMBENCH_BIN").map(PathBuf::from) {
        return dir.join("lat_proc").is_file().then_some(dir);
    }
    if let Some(p) = on_path("lat_proc") {
        return p.parent().map(Path::to_path_buf);
    }
    std::fs::read_dir("/usr/lib/lmbench/bin").ok()?.flatten().map(|e| e.path()).find(|d| d.join("lat_proc").is_file())
}

pub fn lmbench(dir: &Path, program: &str, args: &[&str], pin: Option<usize>) -> ToolRun {
    ToolRun { program: dir.join(program), args: args.iter().map(|s| s.to_string()).collect(), pin }
}

/// `lat_proc exec` runs `/var/tmp/lmbench/hello`. If that file is missing,
/// the exec fails, the child exits, and lat_proc still prints a time, for a
/// failed exec. Copy lmbench's own `hello` there (as lmbench's scripts do)
/// so the figure means what it says; tell the caller what was done.
pub fn ensure_lmbench_hello(dir: &Path) -> Result<Option<String>, String> {
    let target = Path::new("/var/tmp/lmbench/hello");
    if target.is_file() {
        return Ok(None);
    }
    let source = dir.join("hello");
    std::fs::create_dir_all("/var/tmp/lmbench").map_err(|e| format!("cannot create /var/tmp/lmbench: {e}"))?;
    std::fs::copy(&source, target).map_err(|e| format!("cannot copy {} to {}: {e}", source.display(), target.display()))?;
    Ok(Some(format!("copied {} to {} so that `lat_proc exec` times a real exec", source.display(), target.display())))
}

/// Nanoseconds from lmbench's "Process fork+exit: 207.4286 microseconds" or
/// "Pipe latency: 40.7902 microseconds".
pub fn parse_lmbench_micros(text: &str) -> Result<f64, String> {
    text.lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(':')?;
            let mut words = rest.split_whitespace();
            let value: f64 = words.next()?.parse().ok()?;
            (words.next()? == "microseconds").then_some(value * 1e3)
        })
        .ok_or_else(|| format!("no `...: N microseconds` line in lmbench's output:\n{text}"))
}

/// Nanoseconds per switch from `lat_ctx -s 0 2`, whose last line is
/// "2 19.27" (processes, microseconds per switch).
pub fn parse_lat_ctx(text: &str) -> Result<f64, String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let procs: u32 = w.next()?.parse().ok()?;
            let us: f64 = w.next()?.parse().ok()?;
            (procs == 2).then_some(us * 1e3)
        })
        .next_back()
        .ok_or_else(|| format!("no `2 <microseconds>` line in lat_ctx's output:\n{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_tools_outputs() {
        let perf = "# Running 'sched/pipe' benchmark:\n# Executed 1000000 pipe operations between two processes\n\n     Total time: 5.111 [sec]\n\n       5.111628 usecs/op\n         195632 ops/sec\n";
        assert!((parse_perf(perf).unwrap() - 5111.628).abs() < 1e-6);
        assert!((parse_lmbench_micros("Process fork+exit: 207.4286 microseconds\n").unwrap() - 207428.6).abs() < 1e-6);
        assert!((parse_lat_ctx("\n\"size=0k ovr=0.69\n2 19.27\n").unwrap() - 19270.0).abs() < 1e-6);
        assert!(parse_perf("garbage").is_err(), "a missing figure must be an error, not a zero");
        assert!(parse_lmbench_micros("Process fork+exit: oops").is_err());
    }
}

#[cfg(test)]
mod run_tests {
    use super::*;

    #[test]
    fn runs_a_program_pinned_and_reports_failures() {
        let cpu = crate::switch::first_allowed_cpu();
        let ok = ToolRun { program: "/bin/sh".into(), args: vec!["-c".into(), "grep Cpus_allowed_list /proc/self/status".into()], pin: Some(cpu) };
        let text = ok.run().expect("/bin/sh should run");
        assert!(text.trim().ends_with(&format!("\t{cpu}")), "the tool was not pinned to CPU {cpu}: {text}");
        assert!(ok.shown().starts_with(&format!("taskset -c {cpu} sh")), "shown command: {}", ok.shown());
        let bad = ToolRun { program: "/bin/false".into(), args: vec![], pin: None };
        assert!(bad.run().is_err(), "a failing tool must be an error");
    }
}
