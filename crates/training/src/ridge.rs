//! Ridge regression under differential privacy: noisy sufficient statistics.
//!
//! With features scaled to `[−1, 1]` by the schema ranges and augmented with a constant 1
//! (`x̃ = (z, 1)`, so `‖x̃‖² ≤ d + 1 =: R²`) and the label scaled to `[−1, 1]` by its range, the
//! least-squares solution depends on the records only through `X̃ᵀX̃` and `X̃ᵀy`. Both are
//! released once with OpenDP's Gaussian mechanism (the upper triangle of `X̃ᵀX̃` and `X̃ᵀy`
//! as one vector), then the penalized normal equations are solved — post-processing.
//!
//! **Calibration.** One record adds `x̃x̃ᵀ` (upper triangle of Frobenius norm at most
//! `‖x̃‖² ≤ R²`) and `x̃y` (norm at most `R`), so `Δ₂ = √(R⁴ + R²)` and `σ = Δ₂ / √(2ρ)` (the
//! Gaussian mechanism's zCDP, Bun & Steinke 2016; "sufficient statistics perturbation", e.g.
//! Wang 2018, *Revisiting differentially private linear regression*). The noisy matrix is made
//! positive definite by adding `λ = 2σ√(d + 1)` (about the spectral norm of the noise) to its
//! diagonal, doubled until a Cholesky factorisation succeeds; the spec's `alpha·n` is added to
//! the weights' diagonal as without privacy.

use crate::privacy::noise::GaussianNoise;
use crate::{Error, Result};

/// Length of the released vector: the upper triangle of `X̃ᵀX̃`, then `X̃ᵀy`.
pub(crate) fn statistics_len(d: usize) -> usize {
    let p = d + 1;
    p * (p + 1) / 2 + p
}

/// `Δ₂` of the released vector.
pub(crate) fn sensitivity(d: usize) -> f64 {
    let r2 = (d + 1) as f64;
    (r2 * r2 + r2).sqrt()
}

/// The exact statistics of `rows` (scaled features) and `labels` (scaled labels).
pub(crate) fn statistics(rows: &[f64], d: usize, labels: &[f64]) -> Vec<f64> {
    let p = d + 1;
    let mut out = vec![0.0; statistics_len(d)];
    let mut x = vec![1.0; p];
    for (row, &y) in rows.chunks_exact(d).zip(labels) {
        x[..d].copy_from_slice(row);
        let mut k = 0;
        for i in 0..p {
            for j in i..p {
                out[k] += x[i] * x[j];
                k += 1;
            }
        }
        for (o, xi) in out[k..].iter_mut().zip(&x) {
            *o += xi * y;
        }
    }
    out
}

/// The private fit: weights and intercept on the scaled label, and the noise.
pub(crate) struct Fitted {
    pub(crate) weights: Vec<f64>,
    pub(crate) intercept: f64,
    pub(crate) noise: GaussianNoise,
}

/// Fits on scaled `rows` and scaled `labels` with penalty `alpha` (per record), spending `rho`.
pub(crate) fn fit(rows: &[f64], d: usize, labels: &[f64], alpha: f64, rho: f64) -> Result<Fitted> {
    let n = labels.len();
    let noise = GaussianNoise::calibrate(statistics_len(d), sensitivity(d), rho)?;
    let released = noise.release(&statistics(rows, d, labels))?;
    let p = d + 1;
    let mut a = vec![0.0; p * p];
    let mut k = 0;
    for i in 0..p {
        for j in i..p {
            a[i * p + j] = released[k];
            a[j * p + i] = released[k];
            k += 1;
        }
    }
    let b = &released[k..];
    for j in 0..d {
        a[j * p + j] += alpha * n as f64;
    }
    let mut lambda = 2.0 * noise.scale() * (p as f64).sqrt();
    for _ in 0..60 {
        let mut m = a.clone();
        for j in 0..p {
            m[j * p + j] += lambda;
        }
        if let Some(theta) = cholesky_solve(&mut m, p, b) {
            return Ok(Fitted {
                weights: theta[..d].to_vec(),
                intercept: theta[d],
                noise,
            });
        }
        lambda *= 2.0;
    }
    Err(Error::Fit {
        model: "ridge regression",
        reason: "the noisy normal equations could not be made positive definite".into(),
    })
}

/// Solves `m·x = b` for symmetric positive definite `m` (`p × p`, overwritten by its Cholesky
/// factor); `None` when `m` is not positive definite.
fn cholesky_solve(m: &mut [f64], p: usize, b: &[f64]) -> Option<Vec<f64>> {
    for j in 0..p {
        let mut diag = m[j * p + j];
        for k in 0..j {
            diag -= m[j * p + k] * m[j * p + k];
        }
        if !(diag > 0.0 && diag.is_finite()) {
            return None;
        }
        let diag = diag.sqrt();
        m[j * p + j] = diag;
        for i in j + 1..p {
            let mut v = m[i * p + j];
            for k in 0..j {
                v -= m[i * p + k] * m[j * p + k];
            }
            m[i * p + j] = v / diag;
        }
    }
    // L·z = b, then Lᵀ·x = z.
    let mut z = b.to_vec();
    for i in 0..p {
        for k in 0..i {
            z[i] -= m[i * p + k] * z[k];
        }
        z[i] /= m[i * p + i];
    }
    for i in (0..p).rev() {
        for k in i + 1..p {
            z[i] -= m[k * p + i] * z[k];
        }
        z[i] /= m[i * p + i];
    }
    Some(z)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cohort(n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
        let rows: Vec<f64> = (0..n * d)
            .map(|i| ((i * 6151) % 199) as f64 / 99.0 - 1.0)
            .map(|v: f64| v.clamp(-1.0, 1.0))
            .collect();
        let labels = rows
            .chunks_exact(d)
            .map(|r| (0.5 * r[0] - 0.25 * r[1] + 0.1).clamp(-1.0, 1.0))
            .collect();
        (rows, labels)
    }

    #[test]
    fn one_record_moves_the_statistics_by_at_most_the_sensitivity() {
        let d = 3;
        let (rows, labels) = cohort(30, d);
        // The extreme record: every feature and the label at a corner.
        let corner = vec![1.0; d];
        let with: Vec<f64> = rows.iter().chain(&corner).copied().collect();
        let mut with_labels = labels.clone();
        with_labels.push(-1.0);
        let a = statistics(&rows, d, &labels);
        let b = statistics(&with, d, &with_labels);
        let moved = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt();
        assert!(moved <= sensitivity(d) + 1e-12, "{moved}");
        assert!(
            moved > 0.7 * sensitivity(d),
            "the bound is not loose: {moved}"
        );
    }

    /// The released statistics deviate from the exact ones by `Δ₂ / √(2ρ)`.
    #[test]
    fn statistics_noise_matches_its_calibration() {
        let (d, rho) = (3, 0.1);
        let (rows, labels) = cohort(200, d);
        let exact = statistics(&rows, d, &labels);
        let noise = GaussianNoise::calibrate(statistics_len(d), sensitivity(d), rho).unwrap();
        let expected = sensitivity(d) / (2.0 * rho).sqrt();
        assert!((noise.scale() / expected - 1.0).abs() < 1e-6);
        let (mut sum_sq, mut count) = (0.0, 0.0);
        for _ in 0..700 {
            for (r, e) in noise.release(&exact).unwrap().iter().zip(&exact) {
                sum_sq += (r - e) * (r - e);
                count += 1.0;
            }
        }
        let std = (sum_sq / count).sqrt();
        assert!((std / expected - 1.0).abs() < 0.03, "{std} vs {expected}");
    }

    #[test]
    fn a_large_budget_recovers_the_coefficients() {
        let d = 3;
        let (rows, labels) = cohort(4000, d);
        let fitted = fit(&rows, d, &labels, 0.0, 1e4).unwrap();
        let truth = [0.5, -0.25, 0.0];
        for (w, t) in fitted.weights.iter().zip(truth) {
            assert!((w - t).abs() < 0.02, "{:?}", fitted.weights);
        }
        assert!((fitted.intercept - 0.1).abs() < 0.02);
    }

    #[test]
    fn cholesky_solves_and_refuses_indefinite() {
        let mut m = vec![4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&mut m, 2, &[2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        assert!(cholesky_solve(&mut bad, 2, &[1.0, 1.0]).is_none());
    }
}
