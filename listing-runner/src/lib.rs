//! The listing runner: a small HTTP server on 127.0.0.1 that builds and runs
//! the course's own listings for the book served by `cargo xtask serve`, and
//! streams their output back as server-sent events.
//!
//! It runs programs at the request of a web page, so every request passes
//! the guard in [`server`] first: the `Host` must be this loopback address
//! (no DNS rebinding), the `Origin` the served book, and the token the one
//! made at start and given only to that book. A run then names a listing by
//! package name and an argument set the pages declare ([`catalog`]); no
//! shell, no path from the request. Each run is its own process group,
//! killed whole on Stop, timeout, disconnect, replacement or shutdown.

pub mod catalog;
mod run;
pub mod server;

pub use server::{Config, Runner};
