//! Results files (JSON, CSV), the Markdown table and the SVG chart.

use crate::stats::Spread;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Where the figures were measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpus: usize,
    pub kernel: String,
    pub build: String,
    pub budget: String,
}

/// One measured quantity, summarised over its repeats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    /// `creation`, `switch`, `memory`, `workload-cpu`, `workload-io`.
    pub group: String,
    /// Stable name, e.g. `fork_exit_wait`.
    pub key: String,
    pub label: String,
    /// `process`, `thread`, `task` or `pool`.
    pub model: String,
    /// `ns`, `KiB` or `ms`.
    pub unit: String,
    /// What one unit of the figure is ("per fork + exit + wait", ...).
    pub per: String,
    pub spread: Spread,
}

/// The lab's figure next to a standard tool's figure for the same quantity,
/// from alternating runs of the two.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    pub quantity: String,
    pub lab_key: String,
    pub lab: Spread,
    pub tool: String,
    pub command: String,
    pub reference: Spread,
    pub unit: String,
    /// lab median / tool median.
    pub ratio: f64,
    /// Whether this pair is held to the ±25% accuracy bar (the others are
    /// shown for context: the two sides measure slightly different things).
    pub held_to_bar: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub figures: Vec<Figure>,
    pub comparisons: Vec<Comparison>,
    pub notes: Vec<String>,
}

/// Shows a value with a unit that keeps 3-4 significant digits.
pub fn human(value: f64, unit: &str) -> String {
    match unit {
        "ns" if value >= 1e6 => format!("{} ms", sig3(value / 1e6)),
        "ns" if value >= 1e3 => format!("{} µs", sig3(value / 1e3)),
        "ns" => format!("{value:.0} ns"),
        "KiB" if value >= 1024.0 => format!("{:.2} MiB", value / 1024.0),
        "KiB" if value < 1.0 => format!("{:.0} B", value * 1024.0),
        "KiB" => format!("{value:.1} KiB"),
        "ms" => format!("{value:.1} ms"),
        "switches" => format!("{value:.2}"),
        _ => format!("{value:.3} {unit}"),
    }
}

/// Three significant digits (at least the units digit): 136, 13.6, 1.36.
fn sig3(v: f64) -> String {
    match v {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

impl Results {
    pub fn figure(&self, key: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.key == key)
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from("group,key,label,model,unit,per,median,q1,q3,min,max,repeats,tool,tool_median,ratio\n");
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        for f in &self.figures {
            let s = f.spread;
            writeln!(out, "{},{},{},{},{},{},{},{},{},{},{},{},,,", f.group, f.key, q(&f.label), f.model, f.unit, q(&f.per), s.median, s.q1, s.q3, s.min, s.max, s.n).unwrap();
        }
        for c in &self.comparisons {
            let s = c.lab;
            writeln!(out, "comparison,{},{},,{},,{},{},{},{},{},{},{},{},{:.4}", c.lab_key, q(&c.quantity), c.unit, s.median, s.q1, s.q3, s.min, s.max, s.n, q(&c.command), c.reference.median, c.ratio).unwrap();
        }
        out
    }

    /// The summary table (Markdown: it reads as plain text too).
    pub fn to_markdown(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "Machine: {}, {} CPUs, Linux {}; {} build, {}.\n\n",
            m.cpu_model, m.cpus, m.kernel, m.build, m.budget
        );
        let groups = [
            ("creation", "Creation: create one, wait for it to finish"),
            ("switch", "Context switch: one round trip (two hand-overs); per switch is half"),
            ("switch-count", "Switches of the measuring thread per round trip, pinned (getrusage, RUSAGE_THREAD)"),
            ("memory", "Memory: one more idle unit"),
            ("workload-cpu", "CPU-bound job (count primes) split across N: wall time"),
            ("workload-io", "I/O-bound job (sleeps) split across N: wall time"),
        ];
        for (group, title) in groups {
            let figs: Vec<_> = self.figures.iter().filter(|f| f.group == group).collect();
            if figs.is_empty() {
                continue;
            }
            writeln!(out, "**{title}**\n").unwrap();
            writeln!(out, "| what | model | median | IQR | min – max | repeats |").unwrap();
            writeln!(out, "|---|---|--:|--:|--:|--:|").unwrap();
            for f in figs {
                let s = f.spread;
                writeln!(
                    out,
                    "| {} | {} | {} | {} – {} | {} – {} | {} |",
                    f.label,
                    f.model,
                    human(s.median, &f.unit),
                    human(s.q1, &f.unit),
                    human(s.q3, &f.unit),
                    human(s.min, &f.unit),
                    human(s.max, &f.unit),
                    s.n
                )
                .unwrap();
            }
            out.push('\n');
        }
        if !self.comparisons.is_empty() {
            writeln!(out, "**Checked against the standard tools** (alternating runs; ratio = lab / tool)\n").unwrap();
            writeln!(out, "| quantity | lab (median, min – max) | tool command | tool (median, min – max) | ratio | bar ±25% |").unwrap();
            writeln!(out, "|---|--:|---|--:|--:|:-:|").unwrap();
            for c in &self.comparisons {
                let bar = match (c.held_to_bar, (0.75..=1.25).contains(&c.ratio)) {
                    (false, _) => "context",
                    (true, true) => "within",
                    (true, false) => "OUTSIDE",
                };
                writeln!(
                    out,
                    "| {} | {} ({} – {}) | `{}` | {} ({} – {}) | {:.2} | {} |",
                    c.quantity,
                    human(c.lab.median, &c.unit),
                    human(c.lab.min, &c.unit),
                    human(c.lab.max, &c.unit),
                    c.command,
                    human(c.reference.median, &c.unit),
                    human(c.reference.min, &c.unit),
                    human(c.reference.max, &c.unit),
                    c.ratio,
                    bar
                )
                .unwrap();
            }
            out.push('\n');
        }
        out.push_str(&self.cost_model());
        for n in &self.notes {
            writeln!(out, "- {n}").unwrap();
        }
        out
    }

    /// The share of CPU time lost to switching, C / (T + C), for a unit that
    /// works for T between two switches that cost C each. C is half of a
    /// pinned round trip (so it includes the system calls around the switch).
    pub fn cost_model(&self) -> String {
        let sources = [
            ("pipe_proc_pinned", "process (pipe, pinned)"),
            ("pipe_thread_pinned", "thread (pipe, pinned)"),
            ("task_pingpong", "task (tokio, one thread)"),
        ];
        let cs: Vec<(&str, f64)> = sources.iter().filter_map(|(k, name)| Some((*name, self.figure(k)?.spread.median / 2.0))).collect();
        if cs.is_empty() {
            return String::new();
        }
        let ts = [(1e3, "1 µs"), (1e4, "10 µs"), (1e5, "100 µs"), (1e6, "1 ms"), (1e7, "10 ms")]; // work between switches
        let mut out = String::from("**Cost model: share of CPU lost to switching, C / (T + C)**\n\n| switch between | C (half a round trip) |");
        for (_, name) in ts {
            write!(out, " T = {name} |").unwrap();
        }
        out.push_str("\n|---|--:|");
        out.push_str(&"--:|".repeat(ts.len()));
        out.push('\n');
        for (name, c) in cs {
            write!(out, "| {name} | {} |", human(c, "ns")).unwrap();
            for (t, _) in ts {
                let share = 100.0 * c / (t + c);
                let shown = match share {
                    s if s >= 1.0 => format!("{s:.0} %"),
                    s if s >= 0.01 => format!("{s:.2} %"),
                    _ => "< 0.01 %".to_string(),
                };
                write!(out, " {shown} |").unwrap();
            }
            out.push('\n');
        }
        out.push('\n');
        out
    }

    /// A horizontal bar chart of the creation and switch figures on a log
    /// scale, hand-written SVG. Bars are medians; whiskers span min – max.
    pub fn to_svg(&self) -> String {
        let rows: Vec<&Figure> = self.figures.iter().filter(|f| (f.group == "creation" || f.group == "switch") && f.unit == "ns").collect();
        let (label_w, plot_w, row_h, top, right) = (330.0, 520.0, 22.0, 64.0, 90.0);
        let group_gap = 34.0;
        let n_groups = rows.iter().map(|f| f.group.as_str()).collect::<std::collections::BTreeSet<_>>().len() as f64;
        let height = top + rows.len() as f64 * row_h + n_groups * group_gap + 40.0;
        let width = label_w + plot_w + right;
        let lo = rows.iter().map(|f| f.spread.min).fold(f64::INFINITY, f64::min).max(1.0);
        let hi = rows.iter().map(|f| f.spread.max).fold(0.0, f64::max).max(lo * 10.0);
        let (d0, d1) = (lo.log10().floor(), hi.log10().ceil());
        let x = |v: f64| label_w + (v.max(1.0).log10() - d0) / (d1 - d0) * plot_w;
        let colour = |model: &str| match model {
            "process" => "#c0392b",
            "thread" => "#2471a3",
            "task" => "#1e8449",
            _ => "#7d3c98",
        };
        let mut s = String::new();
        writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#).unwrap();
        writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##).unwrap();
        let m = &self.machine;
        writeln!(s, r#"<text x="10" y="20" font-size="15" font-weight="bold">Creating and switching: process vs thread vs task (log scale)</text>"#).unwrap();
        writeln!(s, r##"<text x="10" y="38" fill="#555">{} · {} CPUs · Linux {} · bar = median, whisker = min–max</text>"##, esc(&m.cpu_model), m.cpus, esc(&m.kernel)).unwrap();
        // Legend.
        for (i, model) in ["process", "thread", "task", "pool"].iter().enumerate() {
            let lx = label_w + i as f64 * 95.0;
            writeln!(s, r#"<rect x="{lx}" y="46" width="12" height="12" fill="{}"/><text x="{}" y="56">{model}</text>"#, colour(model), lx + 16.0).unwrap();
        }
        let mut y = top;
        let mut last_group = "";
        let axis_top = top;
        for f in &rows {
            if f.group != last_group {
                y += group_gap * 0.6;
                let title = if f.group == "creation" { "Create + wait for one (per unit)" } else { "Context switch (per round trip)" };
                writeln!(s, r#"<text x="10" y="{}" font-weight="bold">{title}</text>"#, y - 4.0).unwrap();
                y += group_gap * 0.4 - 10.0;
                last_group = &f.group;
            }
            let sp = f.spread;
            let (bx, bw) = (label_w, x(sp.median) - label_w);
            writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, label_w - 8.0, y + 14.0, esc(&f.label)).unwrap();
            writeln!(s, r#"<rect class="bar" x="{bx}" y="{}" width="{:.1}" height="{}" fill="{}"/>"#, y + 3.0, bw.max(1.0), row_h - 6.0, colour(&f.model)).unwrap();
            let wy = y + row_h / 2.0;
            writeln!(s, r##"<line x1="{:.1}" y1="{wy}" x2="{:.1}" y2="{wy}" stroke="#000"/><line x1="{:.1}" y1="{}" x2="{:.1}" y2="{}" stroke="#000"/><line x1="{:.1}" y1="{}" x2="{:.1}" y2="{}" stroke="#000"/>"##,
                x(sp.min), x(sp.max), x(sp.min), wy - 4.0, x(sp.min), wy + 4.0, x(sp.max), wy - 4.0, x(sp.max), wy + 4.0).unwrap();
            writeln!(s, r#"<text x="{:.1}" y="{}">{}</text>"#, x(sp.max) + 6.0, y + 14.0, esc(&human(sp.median, "ns"))).unwrap();
            y += row_h;
        }
        // Decade grid and axis labels.
        let names = ["1 ns", "10 ns", "100 ns", "1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s"];
        for d in d0 as i32..=d1 as i32 {
            let gx = x(10f64.powi(d));
            writeln!(s, r##"<line x1="{gx:.1}" y1="{axis_top}" x2="{gx:.1}" y2="{}" stroke="#bbb" stroke-dasharray="3,3"/>"##, y + 4.0).unwrap();
            let name = names.get(d as usize).copied().unwrap_or("?");
            writeln!(s, r#"<text x="{gx:.1}" y="{}" text-anchor="middle">{name}</text>"#, y + 20.0).unwrap();
        }
        s.push_str("</svg>\n");
        s
    }
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
