//! Repeating a measurement and summarising the repeats.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The spread of a set of repeats: median, quartiles, extremes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

/// Quantile by linear interpolation between the two nearest ranks.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Summarises repeats. Panics on an empty slice or a NaN: both are bugs in
/// the caller, never something to paper over with a zero.
pub fn spread(values: &[f64]) -> Spread {
    assert!(!values.is_empty(), "no repeats to summarise");
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("a measurement was NaN"));
    Spread {
        median: quantile(&v, 0.5),
        q1: quantile(&v, 0.25),
        q3: quantile(&v, 0.75),
        min: v[0],
        max: v[v.len() - 1],
        n: v.len(),
    }
}

/// Times `op(iters)` (which performs `iters` operations and returns how long
/// they took) `repeats` times and returns nanoseconds per operation for each.
///
/// The first calls are a warm-up that is thrown away: they fault in code and
/// data, let the CPU leave its idle states, and choose `iters` so that one
/// repeat lasts about `target` (never more than `max_iters` operations).
pub fn sample(mut op: impl FnMut(u64) -> Duration, target: Duration, repeats: usize, max_iters: u64) -> Vec<f64> {
    let mut iters = 1u64;
    loop {
        let took = op(iters);
        if took >= target / 4 || iters >= max_iters {
            let per_op = took.as_secs_f64() / iters as f64;
            iters = ((target.as_secs_f64() / per_op.max(1e-9)) as u64).clamp(1, max_iters);
            break;
        }
        iters = (iters * 4).min(max_iters);
    }
    (0..repeats).map(|_| op(iters).as_nanos() as f64 / iters as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_known_values() {
        let s = spread(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((s.median, s.q1, s.q3, s.min, s.max, s.n), (3.0, 2.0, 4.0, 1.0, 5.0, 5));
        let even = spread(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(even.median, 2.5, "the median of an even count interpolates");
    }

    #[test]
    fn sample_divides_by_the_iteration_count() {
        // A fake operation costing exactly 1 µs each: the per-op figure must be 1000 ns.
        let per = sample(Duration::from_micros, Duration::from_millis(1), 3, 1_000_000);
        assert_eq!(per, vec![1000.0; 3]);
    }
}
