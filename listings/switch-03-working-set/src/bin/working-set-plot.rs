//! Draws the table that `switch-03-working-set` prints as an SVG plot:
//! working set per side against time, both axes logarithmic, with a dashed
//! line where the two sides' sets together fill each cache level.
//!
//!     cargo run --release -p switch-03-working-set > run.txt
//!     cargo run -p switch-03-working-set --bin working-set-plot < run.txt > plot.svg
//!
//! The cache sizes come from /sys (this machine's CPU 0) unless given, as in
//! `--caches L1d=32K,L2=1M,L3=32M` (to draw a run made on another machine).

use std::fmt::Write;
use std::io::Read;

const USAGE: &str = "usage: working-set-plot [--caches NAME=SIZE,...] < OUTPUT_OF_THE_LISTING > plot.svg";

/// A line of the plot: its name, its colour, and which column it shows.
type Series = (&'static str, &'static str, fn(&Row) -> f64);

/// One line of the listing's table, sizes in KiB and times in µs.
struct Row {
    kib: f64,
    alone: f64,
    measured: f64,
    indirect: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let caches = match args.as_slice() {
        [] => caches_of_this_machine(),
        [flag, list] if flag == "--caches" => parse_caches(list).unwrap_or_else(|e| fail(&e)),
        [h] if h == "-h" || h == "--help" => {
            println!("{USAGE}");
            return;
        }
        _ => fail("unexpected arguments"),
    };
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap_or_else(|e| fail(&format!("cannot read stdin: {e}")));
    let rows: Vec<Row> = text.lines().filter_map(parse_row).collect();
    if rows.len() < 2 {
        fail("found fewer than two table rows on stdin: pipe in what switch-03-working-set printed");
    }
    let machine = text.lines().find_map(|l| l.strip_prefix("machine: ")).unwrap_or("");
    print!("{}", svg(&rows, &caches, machine));
}

fn fail(msg: &str) -> ! {
    eprintln!("working-set-plot: {msg}\n{USAGE}");
    std::process::exit(2)
}

/// `"   1 MiB    12.83 µs       17.65 µs        2.32 µs   |###"`
fn parse_row(line: &str) -> Option<Row> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [size, unit, alone, "µs", measured, "µs", indirect, "µs", ..] = words.as_slice() else {
        return None;
    };
    let kib = size.parse::<f64>().ok()?
        * match *unit {
            "KiB" => 1.0,
            "MiB" => 1024.0,
            _ => return None,
        };
    Some(Row { kib, alone: alone.parse().ok()?, measured: measured.parse().ok()?, indirect: indirect.parse().ok()? })
}

/// `L1d=32K,L2=1M` into (name, KiB) pairs.
fn parse_caches(list: &str) -> Result<Vec<(String, f64)>, String> {
    list.split(',')
        .map(|item| {
            let (name, size) = item.split_once('=').ok_or(format!("{item:?}: expected NAME=SIZE"))?;
            kib_of(size).map(|k| (name.to_string(), k)).ok_or(format!("{size:?}: expected a size such as 32K or 1M"))
        })
        .collect()
}

fn kib_of(size: &str) -> Option<f64> {
    let (digits, factor) = match size.as_bytes().last()? {
        b'K' => (&size[..size.len() - 1], 1.0),
        b'M' => (&size[..size.len() - 1], 1024.0),
        _ => return None,
    };
    Some(digits.parse::<f64>().ok()? * factor)
}

/// The data and unified caches of CPU 0, as the kernel lists them.
fn caches_of_this_machine() -> Vec<(String, f64)> {
    let mut caches = Vec::new();
    for index in 0.. {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).map(|s| s.trim().to_string());
        let (Ok(level), Ok(kind), Ok(size)) = (read("level"), read("type"), read("size")) else { break };
        if kind == "Instruction" {
            continue;
        }
        if let Some(kib) = kib_of(&size) {
            caches.push((format!("L{level}{}", if kind == "Data" { "d" } else { "" }), kib));
        }
    }
    caches
}

fn svg(rows: &[Row], caches: &[(String, f64)], machine: &str) -> String {
    let (w, h) = (720.0, 440.0);
    let (left, right, top, bottom) = (70.0, 20.0, 78.0, 56.0);
    // x: log2 of the size in KiB; y: log10 of the time in µs, whole decades.
    let (x0, x1) = (rows[0].kib.log2(), rows[rows.len() - 1].kib.log2());
    let times = rows.iter().flat_map(|r| [r.alone, r.measured, r.indirect]).filter(|t| *t > 0.0);
    let (lo, hi) = times.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let (y0, y1) = (lo.log10().floor(), hi.log10().ceil());
    let x = |kib: f64| left + (kib.log2() - x0) / (x1 - x0) * (w - left - right);
    let y = |us: f64| top + (y1 - us.max(10f64.powf(y0)).log10()) / (y1 - y0) * (h - top - bottom);

    let mut s = String::new();
    let title = "Indirect cost of a context switch against the working set";
    writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#).unwrap();
    writeln!(s, "<title>{title}</title>").unwrap();
    writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##).unwrap();
    writeln!(s, r#"<text x="10" y="20" font-size="15" font-weight="bold">{title} (log–log)</text>"#).unwrap();
    writeln!(s, r##"<text x="10" y="38" fill="#555">{}</text>"##, escape(machine)).unwrap();

    // Legend.
    let series: [Series; 3] = [
        ("one pass, alone", "#888888", |r| r.alone),
        ("switch + pass, measured", "#1f5fa8", |r| r.measured),
        ("indirect cost per switch", "#c0392b", |r| r.indirect),
    ];
    for (i, (name, colour, _)) in series.iter().enumerate() {
        let lx = left + i as f64 * 200.0;
        writeln!(s, r#"<line x1="{lx}" y1="54" x2="{}" y2="54" stroke="{colour}" stroke-width="2.5"/><text x="{}" y="58">{name}</text>"#, lx + 22.0, lx + 28.0).unwrap();
    }

    // Horizontal grid: one line per decade.
    for d in y0 as i32..=y1 as i32 {
        let t = 10f64.powi(d);
        let yy = y(t);
        writeln!(s, r##"<line x1="{left}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#dddddd"/>"##, w - right).unwrap();
        writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{} µs</text>"#, left - 6.0, yy + 4.0, decade(d)).unwrap();
    }
    // x ticks: one per measured size.
    for r in rows {
        let xx = x(r.kib);
        let label = if r.kib >= 1024.0 { format!("{} MiB", r.kib / 1024.0) } else { format!("{} KiB", r.kib) };
        writeln!(s, r##"<line x1="{xx:.1}" y1="{}" x2="{xx:.1}" y2="{}" stroke="#999999"/>"##, h - bottom, h - bottom + 5.0).unwrap();
        writeln!(s, r#"<text x="{xx:.1}" y="{}" text-anchor="middle">{label}</text>"#, h - bottom + 18.0).unwrap();
    }
    writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">working set per side</text>"#, (left + w - right) / 2.0, h - 12.0).unwrap();

    // Cache levels: the two sides share a core, so a level is full when the
    // two sets together reach its size, at half of it per side.
    for (name, kib) in caches {
        let per_side = kib / 2.0;
        if per_side.log2() < x0 || per_side.log2() > x1 {
            continue;
        }
        let xx = x(per_side);
        writeln!(s, r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{}" stroke="#2e8b57" stroke-dasharray="5,4"/>"##, h - bottom).unwrap();
        writeln!(s, r##"<text x="{:.1}" y="{}" fill="#2e8b57">{name} full</text>"##, xx + 4.0, top + 12.0).unwrap();
    }

    // The three series, as lines with a dot per measurement.
    for (name, colour, value) in series {
        let points: Vec<(f64, f64)> = rows.iter().map(|r| (x(r.kib), y(value(r)))).collect();
        let line: Vec<String> = points.iter().map(|(px, py)| format!("{px:.1},{py:.1}")).collect();
        writeln!(s, r#"<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{}"><title>{name}</title></polyline>"#, line.join(" ")).unwrap();
        for (r, (px, py)) in rows.iter().zip(&points) {
            writeln!(s, r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{colour}"><title>{name}: {} µs</title></circle>"#, value(r)).unwrap();
        }
    }
    writeln!(s, r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#555555"/>"##, w - left - right, h - top - bottom).unwrap();
    s.push_str("</svg>\n");
    s
}

/// 10^d written out: 0.01, 0.1, 1, 10, 100, ...
fn decade(d: i32) -> String {
    if d < 0 { format!("{:.*}", (-d) as usize, 10f64.powi(d)) } else { format!("{}", 10u64.pow(d as u32)) }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
