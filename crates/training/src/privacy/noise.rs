//! OpenDP's mechanisms and accountant, wrapped for this crate's trainers.
//!
//! Every random draw that differential privacy rests on comes from here, and everything here
//! comes from OpenDP: the Gaussian mechanism (`make_gaussian`, exact discrete Gaussian samples
//! on the grid `2^GRANULARITY`, so the released floats carry no floating-point side channel), the
//! exponential mechanism (`make_noisy_max`), Bernoulli coins (`sample_bernoulli_float`), the
//! privacy maps (ρ of zero-concentrated DP, zCDP), composition (`CompositionMeasure::compose`
//! for zCDP) and the zCDP → (ε, δ) conversion (`ConcentratedMeasure::convert`, Canonne, Kamath
//! & Steinke 2020). This module only *calibrates*: it searches for the smallest noise scale
//! whose OpenDP privacy map stays within a target ρ, so the accounting is OpenDP's own map.
//!
//! Randomness: built without OpenDP's `use-openssl` feature (which vendors and compiles
//! OpenSSL), OpenDP draws its bits from `rand` 0.7's `thread_rng`, a ChaCha20 generator
//! reseeded from the operating system; OpenDP's documentation calls this path "non-secure"
//! only because it has not audited it (see the report in `lib.rs`).

use opendp::combinators::{CompositionMeasure, ConcentratedMeasure};
use opendp::core::Measurement;
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::{make_gaussian, make_noisy_max};
use opendp::measures::ZeroConcentratedDivergence;
use opendp::metrics::{L2Distance, LInfDistance};

use crate::{Error, Result};

/// Noise is drawn on the grid `2^GRANULARITY` (≈ 9·10⁻¹³); OpenDP adds the rounding of the
/// input to that grid to the sensitivity in its privacy map.
const GRANULARITY: i32 = -40;

fn opendp(e: opendp::error::Error) -> Error {
    Error::Privacy(e.to_string())
}

/// The ρ of zCDP whose conversion to approximate DP (OpenDP's) gives at most `epsilon` at
/// `delta`: the budget a job's mechanisms share.
pub fn rho_for(epsilon: f64, delta: f64) -> Result<f64> {
    if !(epsilon > 0.0 && epsilon.is_finite() && delta > 0.0 && delta < 1.0) {
        return Err(Error::Privacy(format!(
            "no zCDP budget for epsilon {epsilon}, delta {delta}"
        )));
    }
    let fits = |rho: f64| -> Result<bool> {
        let profile = ZeroConcentratedDivergence::convert(rho).map_err(opendp)?;
        Ok(profile.delta(epsilon).map_err(opendp)? <= delta)
    };
    // ρ ≤ ε always holds (ρ-zCDP is at best (ρ, 0)-DP). (OpenDP's conversion overflows for
    // ρ near the smallest float, so the search starts from a small but sane ρ.)
    let (mut lo, mut hi) = (epsilon * 1e-12, epsilon);
    if !fits(lo)? {
        return Err(Error::Privacy(format!(
            "epsilon {epsilon} at delta {delta} leaves no budget"
        )));
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if fits(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The ε that OpenDP's conversion gives for ρ-zCDP at `delta`.
pub fn epsilon_for(rho: f64, delta: f64) -> Result<f64> {
    ZeroConcentratedDivergence::convert(rho)
        .and_then(|profile| profile.epsilon(delta))
        .map_err(opendp)
}

/// The total ρ of mechanisms run one after another on the same records (OpenDP's zCDP
/// composition: ρs add up, adaptively).
pub(crate) fn compose(rhos: Vec<f64>) -> Result<f64> {
    ZeroConcentratedDivergence.compose(rhos).map_err(opendp)
}

/// A fair-to-`p` coin from OpenDP's sampler.
pub(crate) fn bernoulli(p: f64) -> Result<bool> {
    opendp::traits::samplers::sample_bernoulli_float(p, false).map_err(opendp)
}

/// The smallest scale (within 10⁻⁹ relative) at which `spent(scale) ≤ rho`, starting from the
/// closed-form `guess`; `spent` is an OpenDP privacy map, decreasing in the scale.
fn calibrate(guess: f64, rho: f64, spent: impl Fn(f64) -> Result<f64>) -> Result<f64> {
    if !(rho > 0.0 && guess > 0.0 && guess.is_finite()) {
        return Err(Error::Privacy(format!(
            "cannot calibrate noise to rho {rho}"
        )));
    }
    let mut hi = guess;
    let mut steps = 0;
    while spent(hi)? > rho {
        hi *= 2.0;
        steps += 1;
        if steps > 64 {
            return Err(Error::Privacy("noise calibration does not converge".into()));
        }
    }
    let mut lo = hi / 2.0;
    while hi - lo > 1e-9 * hi {
        let mid = 0.5 * (lo + hi);
        if spent(mid)? <= rho {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

type GaussianMeasurement = Measurement<
    VectorDomain<AtomDomain<f64>>,
    L2Distance<f64>,
    ZeroConcentratedDivergence,
    Vec<f64>,
>;

/// OpenDP's Gaussian mechanism on vectors of `len` values whose L2 sensitivity (the most one
/// record can move the vector) is `sensitivity`, calibrated to spend at most `rho`.
///
/// Calibration: `σ = Δ₂ / √(2ρ)` (the Gaussian mechanism is `Δ₂² / (2σ²)`-zCDP, Bun & Steinke
/// 2016, Prop. 1.6), nudged up until OpenDP's map — which also counts the rounding to the
/// noise grid — says at most `rho`.
pub(crate) struct GaussianNoise {
    measurement: GaussianMeasurement,
    scale: f64,
    rho: f64,
    len: usize,
}

impl GaussianNoise {
    pub(crate) fn calibrate(len: usize, sensitivity: f64, rho: f64) -> Result<Self> {
        if !(sensitivity > 0.0 && sensitivity.is_finite()) {
            return Err(Error::Privacy(format!("bad sensitivity {sensitivity}")));
        }
        let make = |scale: f64| -> Result<GaussianMeasurement> {
            make_gaussian(
                VectorDomain::new(AtomDomain::<f64>::new_non_nan()).with_size(len),
                L2Distance::<f64>::default(),
                scale,
                Some(GRANULARITY),
            )
            .map_err(opendp)
        };
        let spent = |scale: f64| make(scale)?.map(&sensitivity).map_err(opendp);
        let scale = calibrate(sensitivity / (2.0 * rho).sqrt(), rho, spent)?;
        let measurement = make(scale)?;
        let rho = measurement.map(&sensitivity).map_err(opendp)?;
        Ok(Self {
            measurement,
            scale,
            rho,
            len,
        })
    }

    /// `values` plus independent noise of standard deviation [`scale`](Self::scale).
    pub(crate) fn release(&self, values: &[f64]) -> Result<Vec<f64>> {
        if values.len() != self.len {
            return Err(Error::Privacy(format!(
                "{} values given to a mechanism for {}",
                values.len(),
                self.len
            )));
        }
        self.measurement.invoke(&values.to_vec()).map_err(opendp)
    }

    /// The noise's standard deviation σ.
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }

    /// The ρ one release spends (OpenDP's map at the calibrated sensitivity), at most the target.
    pub(crate) fn rho(&self) -> f64 {
        self.rho
    }
}

type SelectionMeasurement = Measurement<
    VectorDomain<AtomDomain<f64>>,
    LInfDistance<f64>,
    ZeroConcentratedDivergence,
    usize,
>;

/// OpenDP's exponential mechanism (`make_noisy_max` under zCDP: the index of the largest score
/// after Gumbel noise), for scores of which one record changes each by at most `sensitivity`.
///
/// Calibration: with scale `s`, it is `(2Δ / s)² / 8`-zCDP (Cesar & Rogers 2021; OpenDP's map,
/// where `2Δ` is the range a non-monotonic score vector can move by), so `s = Δ / √(2ρ)`.
pub(crate) struct Selection {
    measurement: SelectionMeasurement,
    #[cfg_attr(not(test), allow(dead_code))]
    scale: f64,
    rho: f64,
}

impl Selection {
    pub(crate) fn calibrate(sensitivity: f64, rho: f64) -> Result<Self> {
        if !(sensitivity > 0.0 && sensitivity.is_finite()) {
            return Err(Error::Privacy(format!("bad sensitivity {sensitivity}")));
        }
        let make = |scale: f64| -> Result<SelectionMeasurement> {
            make_noisy_max(
                VectorDomain::new(AtomDomain::<f64>::new_non_nan()),
                LInfDistance::<f64>::default(),
                ZeroConcentratedDivergence,
                scale,
                false,
            )
            .map_err(opendp)
        };
        let spent = |scale: f64| make(scale)?.map(&sensitivity).map_err(opendp);
        let scale = calibrate(sensitivity / (2.0 * rho).sqrt(), rho, spent)?;
        let measurement = make(scale)?;
        let rho = measurement.map(&sensitivity).map_err(opendp)?;
        Ok(Self {
            measurement,
            scale,
            rho,
        })
    }

    /// The index of the (noisily) largest score.
    pub(crate) fn select(&self, scores: &[f64]) -> Result<usize> {
        self.measurement.invoke(&scores.to_vec()).map_err(opendp)
    }

    /// The Gumbel scale.
    #[cfg(test)]
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }

    /// The ρ one selection spends.
    pub(crate) fn rho(&self) -> f64 {
        self.rho
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn budget_conversion_round_trips() {
        for (epsilon, delta) in [(0.1, 1e-5), (1.0, 1e-5), (2.0, 1e-6), (10.0, 1e-5)] {
            let rho = rho_for(epsilon, delta).unwrap();
            let back = epsilon_for(rho, delta).unwrap();
            assert!(back <= epsilon * (1.0 + 1e-9), "{epsilon}: {back}");
            assert!(back > epsilon * 0.999, "{epsilon}: {back}");
            // The classic bound ε = ρ + 2√(ρ ln(1/δ)) is looser than OpenDP's conversion.
            assert!(rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt() >= epsilon * 0.999);
        }
        assert!(rho_for(0.0, 1e-5).is_err());
        assert!(rho_for(1.0, 0.0).is_err());
        assert_eq!(compose(vec![0.25, 0.5]).unwrap(), 0.75);
    }

    /// The Gaussian mechanism's σ follows `Δ₂ / √(2ρ)` and its draws have that deviation.
    #[test]
    fn gaussian_noise_matches_its_calibration() {
        let (sensitivity, rho) = (3.0, 0.02);
        let noise = GaussianNoise::calibrate(50, sensitivity, rho).unwrap();
        let formula = sensitivity / (2.0 * rho).sqrt();
        assert!(
            (noise.scale() / formula - 1.0).abs() < 1e-6,
            "{}",
            noise.scale()
        );
        assert!(noise.rho() <= rho && noise.rho() > rho * 0.999_999);
        let values: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let mut sum_sq = 0.0;
        let rounds = 200;
        for _ in 0..rounds {
            let out = noise.release(&values).unwrap();
            sum_sq += out
                .iter()
                .zip(&values)
                .map(|(o, v)| (o - v) * (o - v))
                .sum::<f64>();
        }
        let std = (sum_sq / (50 * rounds) as f64).sqrt();
        // 10,000 draws: the sample deviation is within 3% of σ with overwhelming probability.
        assert!((std / formula - 1.0).abs() < 0.03, "{std} vs {formula}");
        assert!(noise.release(&values[..3]).is_err());
    }

    /// Two candidates `s` apart: the exponential mechanism picks the better one with probability
    /// `1 / (1 + e^(−s/scale))`.
    #[test]
    fn selection_follows_the_exponential_mechanism() {
        let selection = Selection::calibrate(2.0, 0.05).unwrap();
        let formula = 2.0 / (2.0f64 * 0.05).sqrt();
        assert!((selection.scale() / formula - 1.0).abs() < 1e-6);
        assert!(selection.rho() <= 0.05);
        let gap = selection.scale();
        let trials = 4000;
        let better = (0..trials)
            .filter(|_| selection.select(&[0.0, gap]).unwrap() == 1)
            .count() as f64
            / trials as f64;
        let expected = 1.0 / (1.0 + (-1.0f64).exp());
        // Standard error √(p(1−p)/n) ≈ 0.0074; allow four of them.
        assert!((better - expected).abs() < 0.03, "{better} vs {expected}");
    }

    #[test]
    fn coins_follow_their_probability() {
        let heads = (0..4000).filter(|_| bernoulli(0.25).unwrap()).count() as f64 / 4000.0;
        assert!((heads - 0.25).abs() < 0.03, "{heads}");
    }
}
