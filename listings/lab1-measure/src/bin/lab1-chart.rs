//! Turns a results file written by `lab1-measure --json FILE` into the
//! book's chart (SVG, the default) or its table (`--markdown`).
//!
//!     cargo run -p lab1-measure --bin lab1-chart -- results.json > chart.svg
//!     cargo run -p lab1-measure --bin lab1-chart -- --markdown results.json > table.md

use lab1_measure::results::Results;

const USAGE: &str = "usage: lab1-chart [--svg | --markdown] RESULTS.json   (writes to stdout)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut markdown, mut file) = (false, None);
    for a in &args {
        match a.as_str() {
            "--markdown" => markdown = true,
            "--svg" => markdown = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            s if s.starts_with('-') => fail(&format!("unknown option {s:?}")),
            s if file.is_none() => file = Some(s.to_string()),
            s => fail(&format!("one results file only, got a second: {s:?}")),
        }
    }
    let Some(file) = file else { fail("no results file given") };
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| fail(&format!("cannot read {file}: {e}")));
    let results: Results = serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("{file} is not a lab1-measure results file: {e}")));
    if results.figures.is_empty() {
        fail(&format!("{file} holds no figures"));
    }
    print!("{}", if markdown { results.to_markdown() } else { results.to_svg() });
}

fn fail(msg: &str) -> ! {
    eprintln!("lab1-chart: {msg}\n{USAGE}");
    std::process::exit(2)
}
