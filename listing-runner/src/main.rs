//! `listing-runner --origin URL [--origin URL..] [--root DIR] [--port N]
//! [--config-js FILE] [--max-runs N] [--parent PID]`
//!
//! Started by `cargo xtask serve` beside `mdbook serve`. Listens on
//! 127.0.0.1 only, makes a fresh token, and writes `FILE` as a script that
//! the served book loads (`window.LISTING_RUNNER = {url, token}`). Ctrl-C or
//! SIGTERM kills every run (each whole process group) before it exits;
//! with `--parent PID` the runner also gets SIGTERM when that process dies
//! (`cargo xtask serve` passes its own pid), so it never outlives the serve.

use listing_runner::catalog::Catalog;
use listing_runner::{Config, Runner};
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: listing-runner --origin URL [--origin URL..] [--root DIR] [--port N] [--config-js FILE] [--max-runs N] [--parent PID]";

fn token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

struct Args {
    root: PathBuf,
    origins: Vec<String>,
    port: u16,
    config_js: Option<PathBuf>,
    max_runs: usize,
    parent: Option<i32>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args { root: std::env::current_dir().map_err(|e| e.to_string())?, origins: Vec::new(), port: 0, config_js: None, max_runs: 4, parent: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--root" => args.root = PathBuf::from(value()?),
            "--origin" => args.origins.push(value()?.trim_end_matches('/').to_string()),
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--config-js" => args.config_js = Some(PathBuf::from(value()?)),
            "--max-runs" => args.max_runs = value()?.parse().map_err(|e| format!("--max-runs: {e}"))?,
            "--parent" => args.parent = Some(value()?.parse().map_err(|e| format!("--parent: {e}"))?),
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    if args.origins.is_empty() {
        return Err(format!("at least one --origin (the served book, e.g. http://localhost:3000) is needed\n{USAGE}"));
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    if let Err(e) = serve().await {
        eprintln!("listing-runner: {e}");
        std::process::exit(1);
    }
}

async fn serve() -> Result<(), String> {
    let args = parse()?;
    // Orphans of a killed run (a listing's children) are handed to us
    // rather than to PID 1, so that the runner reaps them: no zombie stays.
    // SAFETY: prctl with an integer argument has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if let Some(parent) = args.parent {
        // SAFETY: as above; getppid cannot fail.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) };
        if unsafe { libc::getppid() } != parent {
            return Err(format!("the parent {parent} is already gone"));
        }
    }
    let catalog = Catalog::load(&args.root);
    for problem in &catalog.problems {
        eprintln!("listing-runner: warning: {problem}");
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await.map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let token = token().map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    let url = format!("http://127.0.0.1:{port}");
    let count = catalog.listings.len();
    let max_runs = args.max_runs;
    let config = Config { root: args.root, origins: args.origins.clone(), max_runs, output_cap: 1024 * 1024, token: token.clone() };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let (router, permits) = Runner::router(config, catalog, port, shutdown_rx);
    if let Some(path) = &args.config_js {
        let script = format!("window.LISTING_RUNNER = {};\n", serde_json::json!({ "url": url, "token": token }));
        write_private(path, &script).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    eprintln!("listing-runner: {count} listings runnable from {} via {url}", args.origins.join(", "));

    let server = axum::serve(listener, router);
    tokio::select! {
        r = server => r.map_err(|e| e.to_string())?,
        _ = stop_signal() => {}
    }
    // Every run kills its group and reaps it; wait (bounded) for them all.
    let _ = shutdown_tx.send(true);
    let all = permits.acquire_many(max_runs as u32);
    let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
    if let Some(path) = &args.config_js {
        let _ = std::fs::remove_file(path);
    }
    eprintln!("listing-runner: stopped");
    Ok(())
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The token file is readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}
