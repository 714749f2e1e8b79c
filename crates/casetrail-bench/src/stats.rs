//! Percentiles by sorting: the samples are a few hundred or thousand durations.

use std::time::Duration;

/// Durations, sorted on demand.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The nearest-rank percentile `p` (0–100), in milliseconds; `None` when empty.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let at = rank.clamp(1, sorted.len()) - 1;
        Some(sorted[at].as_secs_f64() * 1000.0)
    }

    pub fn p50(&self) -> Option<f64> {
        self.percentile_ms(50.0)
    }
    pub fn p95(&self) -> Option<f64> {
        self.percentile_ms(95.0)
    }
    pub fn p99(&self) -> Option<f64> {
        self.percentile_ms(99.0)
    }
}

/// The median of counts (rows per page and the like).
pub fn median(values: &[usize]) -> usize {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut s = Samples::default();
        for ms in 1..=100 {
            s.push(Duration::from_millis(ms));
        }
        assert_eq!(s.p50(), Some(50.0));
        assert_eq!(s.p95(), Some(95.0));
        assert_eq!(s.p99(), Some(99.0));
        assert_eq!(Samples::default().p50(), None);
        assert_eq!(median(&[3, 1, 2]), 2);
    }
}
