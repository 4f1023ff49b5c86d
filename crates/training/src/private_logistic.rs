//! Logistic regression under differential privacy: noisy full-batch gradient descent.
//!
//! ```text
//!  features scaled to [−1, 1] by the schema ranges
//!    → centre c: noisy mean (OpenDP Gaussian, Δ₂ = √d, 10% of ρ), clamped to [−1, 1]
//!    → each record: u = z − c, shrunk to ‖u‖ ≤ C (clip_norm), augmented ũ = (u, s)
//!    → T steps: θ ← θ − η·(Σᵢ (σ(θ·ũᵢ) − yᵢ)·ũᵢ + N(0, σ²I) + l2·(w, 0))   (OpenDP Gaussian)
//!    → released: w, and the intercept s·θ_b − w·c (the centre folded in, never released)
//! ```
//!
//! **Calibration.** A record's gradient term `(σ(θ·ũ) − y)·ũ` has L2 norm at most
//! `ζ = √(C² + s²)` (`|σ − y| ≤ 1`), so each step is the Gaussian mechanism with `Δ₂ = ζ`;
//! with `T` steps sharing `ρ_gd = 0.9·ρ` the step noise is `σ = ζ·√(T / (2·ρ_gd))` (Bun &
//! Steinke 2016, Prop. 1.6 and Lemma 2.3: zCDP composes additively; this is DP-SGD of Abadi et
//! al. 2016 with the whole training set as the batch, so no subsampling amplification is
//! claimed and none is needed). The centre is the Gaussian mechanism on the sum of the scaled
//! vectors (`‖z‖ ≤ √d`). The number of records, which the step size uses, is public.
//!
//! **Why not objective perturbation.** Its proof (Chaudhuri, Monteleoni & Sarwate 2011; Kifer,
//! Smith & Thakurta 2012) needs noise with a density: the output determines the noise vector
//! exactly, and a likelihood ratio of densities bounds the leak. OpenDP's Gaussian noise is
//! deliberately discrete (a grid of 2^−40), and with discrete noise the released minimizer
//! reveals on which grid the noise sat, hence whether a record was in; OpenDP has no continuous
//! sampler (by design) and no objective-perturbation accountant. Noisy gradient descent needs
//! neither: every release is OpenDP's Gaussian mechanism and every account OpenDP's. It also
//! measured better on the breast-cancer data at ε = 1 (mean held-out accuracy 0.95 against 0.91
//! for the Gaussian objective perturbation with the same clipping, in a prototype).

use crate::privacy::noise::{GaussianNoise, compose};
use crate::{Error, Result};

/// The constant feature standing for the intercept; part of the clipping bound `ζ`.
pub(crate) const INTERCEPT_FEATURE: f64 = 0.5;

/// The share of ρ spent on the centre; the rest goes to the gradient steps.
pub(crate) const CENTRE_SHARE: f64 = 0.1;

/// The default clipping norm: a quarter of the half-diagonal `√d` of the scaled box `[−1, 1]^d`.
pub(crate) fn default_clip_norm(d: usize) -> f64 {
    (d as f64).sqrt() / 4.0
}

/// Gradient steps for `n` records and a step budget of `rho` (public numbers only):
/// `clamp(n·√ρ / 2, 30, 200)`. More signal per step (many records, a large ρ) pays for more
/// steps; 30 steps were best at ε ≤ 2 on the breast-cancer data, 150 to 200 at ε ≥ 5.
pub(crate) fn steps(n: usize, rho: f64) -> usize {
    ((n as f64 * rho.sqrt() / 2.0).round() as usize).clamp(30, 200)
}

/// A fitted private logistic regression, on the scaled (uncentred) features.
pub(crate) struct Fitted {
    pub(crate) weights: Vec<f64>,
    pub(crate) intercept: f64,
    /// ρ spent (OpenDP's composition of the centre and every step).
    pub(crate) rho: f64,
    pub(crate) steps: usize,
    pub(crate) step_noise: f64,
}

/// The gradient noise of [`fit`]: `T` steps sharing `(1 − CENTRE_SHARE)·rho`, sensitivity `ζ`.
pub(crate) fn step_noise(
    d: usize,
    n: usize,
    clip_norm: f64,
    rho: f64,
) -> Result<(GaussianNoise, usize)> {
    let zeta = (clip_norm * clip_norm + INTERCEPT_FEATURE * INTERCEPT_FEATURE).sqrt();
    let rho_gd = (1.0 - CENTRE_SHARE) * rho;
    let t = steps(n, rho_gd);
    Ok((GaussianNoise::calibrate(d + 1, zeta, rho_gd / t as f64)?, t))
}

/// Fits on `rows` (row-major, `d` features per record already scaled to `[−1, 1]`; centred and
/// clipped here, in place) with 0/1 `labels`, penalty `l2`, spending at most `rho`.
pub(crate) fn fit(
    rows: &mut [f64],
    d: usize,
    labels: &[f64],
    l2: f64,
    clip_norm: f64,
    rho: f64,
) -> Result<Fitted> {
    let n = labels.len();
    if n == 0 || rows.len() != n * d {
        return Err(Error::TooFewRecords { records: n });
    }
    // The centre: a noisy mean of the scaled vectors (each of norm at most √d).
    let centre_noise = GaussianNoise::calibrate(d, (d as f64).sqrt(), CENTRE_SHARE * rho)?;
    let mut sum = vec![0.0; d];
    for row in rows.chunks_exact(d) {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
    let centre: Vec<f64> = centre_noise
        .release(&sum)?
        .into_iter()
        .map(|s| (s / n as f64).clamp(-1.0, 1.0))
        .collect();
    centre_and_clip(rows, d, &centre, clip_norm);

    let (noise, t) = step_noise(d, n, clip_norm, rho)?;
    let zeta = (clip_norm * clip_norm + INTERCEPT_FEATURE * INTERCEPT_FEATURE).sqrt();
    let eta = 4.0 / (n as f64 * zeta * zeta);
    let problem = Problem {
        rows,
        d,
        labels,
        s: INTERCEPT_FEATURE,
    };
    let mut theta = vec![0.0; d + 1];
    for _ in 0..t {
        let noisy = noise.release(&problem.gradient(&theta))?;
        for (j, (th, g)) in theta.iter_mut().zip(noisy).enumerate() {
            let penalty = if j < d { l2 * *th } else { 0.0 };
            *th -= eta * (g + penalty);
        }
    }
    let weights = theta[..d].to_vec();
    let intercept =
        INTERCEPT_FEATURE * theta[d] - weights.iter().zip(&centre).map(|(w, c)| w * c).sum::<f64>();
    let rho = compose(
        std::iter::once(centre_noise.rho())
            .chain(std::iter::repeat_n(noise.rho(), t))
            .collect(),
    )?;
    Ok(Fitted {
        weights,
        intercept,
        rho,
        steps: t,
        step_noise: noise.scale(),
    })
}

/// `u = z − centre`, shrunk to norm `clip_norm` when longer (direction kept), in place.
fn centre_and_clip(rows: &mut [f64], d: usize, centre: &[f64], clip_norm: f64) {
    for row in rows.chunks_exact_mut(d) {
        for (v, c) in row.iter_mut().zip(centre) {
            *v -= c;
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > clip_norm {
            let shrink = clip_norm / norm;
            row.iter_mut().for_each(|v| *v *= shrink);
        }
    }
}

/// The summed logistic loss's gradient on centred, clipped records with the intercept feature.
struct Problem<'a> {
    rows: &'a [f64],
    d: usize,
    labels: &'a [f64],
    s: f64,
}

impl Problem<'_> {
    /// `Σᵢ (σ(θ·ũᵢ) − yᵢ)·ũᵢ`, weights first, intercept last.
    fn gradient(&self, theta: &[f64]) -> Vec<f64> {
        let d = self.d;
        let mut g = vec![0.0; d + 1];
        for (row, &y) in self.rows.chunks_exact(d).zip(self.labels) {
            let z = theta[d] * self.s + row.iter().zip(theta).map(|(x, w)| x * w).sum::<f64>();
            let residual = 1.0 / (1.0 + (-z).exp()) - y;
            for (acc, x) in g.iter_mut().zip(row) {
                *acc += residual * x;
            }
            g[d] += residual * self.s;
        }
        g
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cohort(n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
        let rows: Vec<f64> = (0..n * d)
            .map(|i| (((i * 7919) % 201) as f64 / 100.0 - 1.0).clamp(-1.0, 1.0))
            .collect();
        let labels = (0..n)
            .map(|i| f64::from(u8::from(rows[i * d] > 0.1)))
            .collect();
        (rows, labels)
    }

    /// One record moves the gradient by at most ζ: the sensitivity the noise is calibrated to.
    #[test]
    fn one_record_moves_the_gradient_by_at_most_zeta() {
        let (d, clip) = (6, 1.2);
        let (mut rows, labels) = cohort(40, d);
        centre_and_clip(&mut rows, d, &vec![0.3; d], clip);
        let zeta = (clip * clip + INTERCEPT_FEATURE * INTERCEPT_FEATURE).sqrt();
        let theta: Vec<f64> = (0..=d).map(|j| j as f64 - 3.0).collect();
        let all = Problem {
            rows: &rows,
            d,
            labels: &labels,
            s: INTERCEPT_FEATURE,
        };
        let g = all.gradient(&theta);
        for leave_out in 0..40 {
            let mut r = rows.clone();
            let mut l = labels.clone();
            r.drain(leave_out * d..(leave_out + 1) * d);
            l.remove(leave_out);
            let without = Problem {
                rows: &r,
                d,
                labels: &l,
                s: INTERCEPT_FEATURE,
            }
            .gradient(&theta);
            let moved = g
                .iter()
                .zip(&without)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            assert!(moved <= zeta * (1.0 + 1e-12), "{moved} > {zeta}");
        }
        for row in rows.chunks_exact(d) {
            assert!(row.iter().map(|v| v * v).sum::<f64>().sqrt() <= clip * (1.0 + 1e-12));
        }
    }

    /// The step noise is `ζ·√(T / (2·0.9ρ))`, and the released gradients deviate by that much.
    #[test]
    fn step_noise_matches_its_calibration() {
        let (d, n, clip, rho) = (8, 500, 0.7, 0.03);
        let (noise, t) = step_noise(d, n, clip, rho).unwrap();
        let zeta = (clip * clip + INTERCEPT_FEATURE * INTERCEPT_FEATURE).sqrt();
        let expected = zeta * (t as f64 / (2.0 * 0.9 * rho)).sqrt();
        assert!(
            (noise.scale() / expected - 1.0).abs() < 1e-6,
            "{} vs {expected}",
            noise.scale()
        );
        let (mut rows, labels) = cohort(n, d);
        centre_and_clip(&mut rows, d, &vec![0.0; d], clip);
        let problem = Problem {
            rows: &rows,
            d,
            labels: &labels,
            s: INTERCEPT_FEATURE,
        };
        let theta = vec![0.1; d + 1];
        let exact = problem.gradient(&theta);
        let (mut sum_sq, mut count) = (0.0, 0.0);
        for _ in 0..1200 {
            for (noisy, e) in noise.release(&exact).unwrap().iter().zip(&exact) {
                sum_sq += (noisy - e) * (noisy - e);
                count += 1.0;
            }
        }
        let std = (sum_sq / count).sqrt();
        assert!((std / expected - 1.0).abs() < 0.03, "{std} vs {expected}");
    }

    #[test]
    fn steps_follow_the_public_rule() {
        assert_eq!(steps(427, 0.02), 30);
        assert_eq!(steps(427, 0.5), 151);
        assert_eq!(steps(100_000, 0.02), 200);
    }

    #[test]
    fn fit_spends_no_more_than_its_budget() {
        let (d, rho) = (4, 0.05);
        let (mut rows, labels) = cohort(300, d);
        let fitted = fit(&mut rows, d, &labels, 1.0, 1.0, rho).unwrap();
        assert!(fitted.rho <= rho * (1.0 + 1e-9), "{}", fitted.rho);
        assert!(fitted.rho > 0.99 * rho);
        assert_eq!(fitted.weights.len(), d);
        assert!(fitted.step_noise > 0.0 && fitted.steps >= 30);
    }
}
