//! The HTTP side: the guard every request passes, and the three endpoints
//! (`GET /api/listings`, `POST /api/run`, `POST /api/stop`).

use crate::catalog::Catalog;
use crate::run::{self, RunJob};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex, Semaphore};

/// The header the served book sends its token in.
pub const TOKEN_HEADER: &str = "x-runner-token";

pub struct Config {
    /// The repository: `listings/`, `src/` and the cargo workspace.
    pub root: PathBuf,
    /// The served book's origins (`http://localhost:3000`, ...).
    pub origins: Vec<String>,
    pub max_runs: usize,
    pub output_cap: usize,
    pub token: String,
}

/// A run in progress, by block.
struct Handle {
    id: u64,
    stop: watch::Sender<Option<&'static str>>,
    done: watch::Receiver<()>,
}

pub struct Runner {
    config: Config,
    catalog: Catalog,
    hosts: Vec<String>,
    permits: Arc<Semaphore>,
    blocks: Mutex<HashMap<String, Handle>>,
    next_id: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

impl Runner {
    /// The router for a runner listening on `127.0.0.1:port`; sending `true`
    /// on the shutdown channel kills every run.
    pub fn router(config: Config, catalog: Catalog, port: u16, shutdown: watch::Receiver<bool>) -> (Router, Arc<Semaphore>) {
        let permits = Arc::new(Semaphore::new(config.max_runs));
        let runner = Arc::new(Runner {
            hosts: vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")],
            permits: permits.clone(),
            blocks: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            config,
            catalog,
            shutdown,
        });
        let router = Router::new()
            .route("/api/listings", get(listings))
            .route("/api/run", post(start_run))
            .route("/api/stop", post(stop_run))
            .fallback(|| async { refuse(StatusCode::NOT_FOUND, "no such endpoint (the runner has /api/listings, /api/run, /api/stop)") })
            .layer(middleware::from_fn_with_state(runner.clone(), guard))
            .with_state(runner);
        (router, permits)
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let mut message = message.into();
    message.push('\n');
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
}

/// Compares without stopping at the first difference.
fn same_token(given: &[u8], ours: &[u8]) -> bool {
    given.len() == ours.len() && given.iter().zip(ours).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Host, then Origin, then token; a preflight (OPTIONS) from the book is
/// answered here, since it carries no token.
async fn guard(State(runner): State<Arc<Runner>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !runner.hosts.iter().any(|h| h == host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!("Host `{host}` is not this runner (only {}): a page reaching it under another name (DNS rebinding) is refused", runner.hosts.join(" or ")),
        );
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_string) else {
        return refuse(StatusCode::FORBIDDEN, "no Origin header: only the served book may use the runner");
    };
    if !runner.config.origins.contains(&origin) {
        return refuse(StatusCode::FORBIDDEN, format!("Origin `{origin}` is not the served book ({}): refused", runner.config.origins.join(", ")));
    }
    let cors = |mut response: Response| {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_str(&origin).unwrap());
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        response
    };
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, x-runner-token"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return cors(response);
    }
    let token = headers.get(TOKEN_HEADER).map(|t| t.as_bytes()).unwrap_or(b"");
    if !same_token(token, runner.config.token.as_bytes()) {
        let what = if token.is_empty() { "missing" } else { "wrong" };
        return cors(refuse(StatusCode::UNAUTHORIZED, format!("{what} token: only the book served by `cargo xtask serve` (this start of it) carries the runner's token")));
    }
    cors(next.run(request).await)
}

async fn listings(State(runner): State<Arc<Runner>>) -> Response {
    let list: Vec<_> = runner.catalog.listings.values().collect();
    Json(serde_json::json!({ "listings": list })).into_response()
}

#[derive(Deserialize)]
struct RunRequest {
    /// The page's name for the block (page path and position): a second
    /// run of the same block replaces the first. Only a key, never a path.
    block: String,
    listing: String,
    #[serde(default)]
    args: Vec<String>,
}

#[derive(Deserialize)]
struct StopRequest {
    block: String,
}

fn check_block(block: &str) -> Result<(), Response> {
    let ok = !block.is_empty() && block.len() <= 200 && block.chars().all(|c| c.is_ascii_graphic());
    ok.then_some(()).ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "`block` must be 1 to 200 printable ASCII characters"))
}

async fn start_run(State(runner): State<Arc<Runner>>, body: Result<Json<RunRequest>, axum::extract::rejection::JsonRejection>) -> Response {
    let Json(request) = match body {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("the request must be JSON {{\"block\", \"listing\", \"args\"}}: {e}")),
    };
    if let Err(r) = check_block(&request.block) {
        return r;
    }
    let name = request.listing.as_str();
    if name.contains('/') || name.contains('\\') || name.contains("..") || name.starts_with('.') {
        return refuse(StatusCode::BAD_REQUEST, format!("`{name}` looks like a path: a listing is named by its package name (like process-01-anatomy), never by a path"));
    }
    let Some(listing) = runner.catalog.listings.get(name) else {
        return refuse(StatusCode::NOT_FOUND, format!("unknown package `{name}`: not a runnable listing crate of this course"));
    };
    let Some(set) = listing.commands.iter().find(|s| s.args == request.args) else {
        let offered: Vec<&str> = listing.commands.iter().map(|s| s.command.as_str()).collect();
        return refuse(
            StatusCode::FORBIDDEN,
            format!("arguments {:?} are not declared for {name}; the pages offer only: {}", request.args, offered.join(" | ")),
        );
    };

    // Replace a run of the same block: stop it and wait until it is gone
    // (its process group killed and reaped, its permit back).
    let mut blocks = runner.blocks.lock().await;
    if let Some(mut old) = blocks.remove(&request.block) {
        let _ = old.stop.send(Some("replaced by a new run of the same block"));
        let _ = old.done.changed().await;
    }
    let Ok(permit) = runner.permits.clone().try_acquire_owned() else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{} runs are going already, the most at once; stop one first", runner.config.max_runs),
        );
    };
    let id = runner.next_id.fetch_add(1, Ordering::Relaxed);
    let (stop_tx, stop_rx) = watch::channel(None);
    let (done_tx, done_rx) = watch::channel(());
    blocks.insert(request.block.clone(), Handle { id, stop: stop_tx, done: done_rx });
    drop(blocks);

    let (events, rx) = mpsc::channel::<Event>(256);
    let job = RunJob {
        root: runner.config.root.clone(),
        listing: listing.clone(),
        set: set.clone(),
        output_cap: runner.config.output_cap,
        events,
        stop: stop_rx,
        shutdown: runner.shutdown.clone(),
    };
    let runner2 = runner.clone();
    let block = request.block;
    tokio::spawn(async move {
        run::execute(job).await;
        // Permit and done first: a replacing request may hold the block map
        // while it waits for them.
        drop(permit);
        drop(done_tx);
        let mut blocks = runner2.blocks.lock().await;
        if blocks.get(&block).is_some_and(|h| h.id == id) {
            blocks.remove(&block);
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx)) });
    // The keep-alive comment also finds a closed connection early: the write
    // fails, the stream is dropped, and the run sees its events closed.
    let mut response = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(1))).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn stop_run(State(runner): State<Arc<Runner>>, body: Result<Json<StopRequest>, axum::extract::rejection::JsonRejection>) -> Response {
    let Json(request) = match body {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("the request must be JSON {{\"block\"}}: {e}")),
    };
    if let Err(r) = check_block(&request.block) {
        return r;
    }
    let blocks = runner.blocks.lock().await;
    match blocks.get(&request.block) {
        Some(h) => {
            let _ = h.stop.send(Some("stopped by the reader (Stop)"));
            (StatusCode::OK, "stopping\n").into_response()
        }
        None => refuse(StatusCode::NOT_FOUND, "nothing is running for this block"),
    }
}
