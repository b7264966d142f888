//! Lab 1: what a process, a thread and a task cost on this machine.
//!
//! The measured operations live in [`create`], [`switch`], [`memory`] and
//! [`workload`]; both the quick mode (`cargo run --release -p lab1-measure`)
//! and the criterion suite (`cargo bench -p lab1-measure`) call them, so the
//! two can never measure different things. [`tools`] runs `perf bench` and
//! lmbench for the same quantities, [`results`] writes and reads results
//! files and draws the chart.

pub mod create;
pub mod memory;
pub mod pool;
pub mod results;
pub mod stats;
pub mod switch;
pub mod tools;
pub mod workload;
