//! Order statistics of samples (no distribution assumed: benchmarks on a shared machine are
//! skewed by whatever else runs, so medians and high percentiles, never means).

use std::time::Duration;

/// The `p`-th percentile (0–100) by nearest rank; `samples` need not be sorted.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

pub fn median(samples: &[f64]) -> f64 {
    percentile(samples, 50.0)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
