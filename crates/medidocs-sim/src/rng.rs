//! A seeded random source (SplitMix64): the same seed gives the same run.

use std::sync::Mutex;

pub struct Rng(Mutex<u64>);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(seed ^ 0x9e37_79b9_7f4a_7c15))
    }

    pub fn next_u64(&self) -> u64 {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    /// Exponential with the given mean (the gaps of a Poisson arrival process).
    pub fn exponential(&self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Log-normal with the given mean and shape `sigma` (service latencies: most calls
    /// near the median, a long tail).
    pub fn lognormal(&self, mean: f64, sigma: f64) -> f64 {
        // Box-Muller for a standard normal.
        let (u1, u2) = (1.0 - self.unit(), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let mu = mean.max(1e-9).ln() - sigma * sigma / 2.0;
        (mu + sigma * z).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_means_are_right() {
        let (a, b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(
            xs,
            (0..5).map(|_| Rng::new(8).next_u64()).collect::<Vec<_>>()
        );
        let r = Rng::new(1);
        let n = 200_000;
        let mean = |f: &dyn Fn() -> f64| (0..n).map(|_| f()).sum::<f64>() / n as f64;
        assert!((mean(&|| r.unit()) - 0.5).abs() < 0.01);
        assert!((mean(&|| r.exponential(3.0)) - 3.0).abs() < 0.05);
        assert!((mean(&|| r.lognormal(1.5, 0.5)) - 1.5).abs() < 0.03);
        let within = (0..n)
            .map(|_| r.range(1, 20))
            .all(|x| (1..=20).contains(&x));
        assert!(within);
    }
}
