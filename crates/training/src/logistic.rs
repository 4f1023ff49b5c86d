//! Binary logistic regression fitted by argmin's L-BFGS (More–Thuente line search, memory 10).
//!
//! The optimizer is argmin's, configured as linfa-logistic configures it, and the objective is
//! linfa-logistic's: the summed logistic loss plus `α/2·‖w‖²` (intercept unpenalized). Only the
//! evaluation of that objective is ours, and for speed alone: linfa-logistic computes `X·w` as a
//! matrix product through `matrixmultiply`, which repacks the whole feature matrix on every call,
//! and evaluates the cost and the gradient in separate passes. Here one pass over the row-major
//! records, split into a fixed number of chunks summed in a fixed order (so the result does not
//! depend on the machine's core count), yields both; the line search asks for the cost and then
//! the gradient at the same point, and the second comes from a one-entry cache. The chunks run
//! on rayon's pool: the caller's (`ThreadPool::install`) if any, else the global one, which
//! `RAYON_NUM_THREADS` sizes.

use std::sync::Mutex;

use rayon::prelude::*;

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::Array1;

/// Chunks of records evaluated concurrently; fixed so that sums are the same on every machine.
const CHUNKS: usize = 4;

/// A fitted binary logistic regression: `P(y = 1 | x) = σ(x·w + b)`.
pub(crate) struct Fitted {
    pub(crate) weights: Vec<f64>,
    pub(crate) intercept: f64,
    /// L-BFGS iterations run.
    pub(crate) iterations: u64,
}

/// Fits `P(label = 1)` on `values` (row-major, `d` scaled features per record) with
/// 0/1 `labels`, penalty `alpha`, stopping when the gradient's norm is below
/// `gradient_tolerance` or after `max_iterations`.
pub(crate) fn fit(
    values: &[f64],
    d: usize,
    labels: &[f64],
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
) -> Result<Fitted, argmin::core::Error> {
    let problem = Problem {
        values,
        d,
        signs: labels
            .iter()
            .map(|&l| if l == 1.0 { 1.0 } else { -1.0 })
            .collect(),
        alpha,
        last: Mutex::new(None),
    };
    let solver =
        LBFGS::new(MoreThuenteLineSearch::new(), 10).with_tolerance_grad(gradient_tolerance)?;
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(Array1::zeros(d + 1)).max_iters(max_iterations))
        .run()?;
    let params = result
        .state
        .best_param
        .unwrap_or_else(|| Array1::zeros(d + 1));
    Ok(Fitted {
        weights: params.iter().take(d).copied().collect(),
        intercept: params[d],
        iterations: result.state.iter,
    })
}

/// The objective at one point: cost and gradient (weights, then intercept).
struct Evaluation {
    at: Array1<f64>,
    cost: f64,
    gradient: Array1<f64>,
}

struct Problem<'a> {
    /// Row-major records, `d` values each.
    values: &'a [f64],
    d: usize,
    /// +1 for label 1, −1 for label 0.
    signs: Vec<f64>,
    alpha: f64,
    last: Mutex<Option<Evaluation>>,
}

impl Problem<'_> {
    /// Cost and gradient at `p`, from the cache when `p` was the last point evaluated.
    fn evaluate<T>(&self, p: &Array1<f64>, pick: impl FnOnce(&Evaluation) -> T) -> T {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = last.as_ref().filter(|e| e.at == *p) {
            return pick(e);
        }
        let e = self.compute(p);
        let value = pick(&e);
        *last = Some(e);
        value
    }

    fn compute(&self, p: &Array1<f64>) -> Evaluation {
        let d = self.d;
        let w: Vec<f64> = p.iter().take(d).copied().collect();
        let b = p[d];
        let n = self.signs.len();
        let per_chunk = n.div_ceil(CHUNKS).max(1);
        // Each chunk: (summed loss, summed gradient with the intercept's last), collected in
        // chunk order whatever thread ran it.
        let starts: Vec<usize> = (0..n).step_by(per_chunk).collect();
        let partials: Vec<(f64, Vec<f64>)> = starts
            .into_par_iter()
            .map(|start| self.partial(start..(start + per_chunk).min(n), &w, b))
            .collect();
        let mut cost = 0.5 * self.alpha * dot(&w, &w);
        let mut gradient = Array1::zeros(d + 1);
        for (loss, g) in partials {
            cost += loss;
            for (acc, v) in gradient.iter_mut().zip(g) {
                *acc += v;
            }
        }
        for (acc, wj) in gradient.iter_mut().zip(&w) {
            *acc += self.alpha * wj;
        }
        Evaluation {
            at: p.clone(),
            cost,
            gradient,
        }
    }

    /// Loss and gradient summed over `rows`.
    fn partial(&self, rows: std::ops::Range<usize>, w: &[f64], b: f64) -> (f64, Vec<f64>) {
        let d = self.d;
        let mut loss = 0.0;
        let mut g = vec![0.0; d + 1];
        let records = self.values[rows.start * d..rows.end * d].chunks_exact(d);
        for (row, &y) in records.zip(&self.signs[rows]) {
            let yz = y * (b + dot(row, w));
            loss -= log_logistic(yz);
            let coefficient = (logistic(yz) - 1.0) * y;
            for (acc, x) in g.iter_mut().zip(row) {
                *acc += coefficient * x;
            }
            g[d] += coefficient;
        }
        (loss, g)
    }
}

/// `a·b` with four independent sums, so that the compiler can use vector instructions.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `ln σ(x)`, computed stably (as scikit-learn and linfa do).
fn log_logistic(x: f64) -> f64 {
    if x > 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

impl CostFunction for Problem<'_> {
    type Param = Array1<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.evaluate(p, |e| e.cost))
    }
}

impl Gradient for Problem<'_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;

    fn gradient(&self, p: &Self::Param) -> Result<Array1<f64>, argmin::core::Error> {
        Ok(self.evaluate(p, |e| e.gradient.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused objective against a direct evaluation of the formula, and its gradient
    /// against central differences.
    #[test]
    fn cost_and_gradient_match_the_formula() {
        let (n, d) = (37, 3);
        let values: Vec<f64> = (0..n * d)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let labels: Vec<f64> = (0..n).map(|i| ((i * 31) % 3 == 0) as u8 as f64).collect();
        let problem = Problem {
            values: &values,
            d,
            signs: labels
                .iter()
                .map(|&l| if l == 1.0 { 1.0 } else { -1.0 })
                .collect(),
            alpha: 0.7,
            last: Mutex::new(None),
        };
        let p = Array1::from(vec![0.3, -0.2, 0.5, 0.1]);
        let mut direct = 0.5 * 0.7 * (0.09 + 0.04 + 0.25);
        for (i, row) in values.chunks(d).enumerate() {
            let z = 0.1 + row[0] * 0.3 - row[1] * 0.2 + row[2] * 0.5;
            let p1 = 1.0 / (1.0 + (-z).exp());
            direct -= if labels[i] == 1.0 {
                p1.ln()
            } else {
                (1.0 - p1).ln()
            };
        }
        let cost = problem.cost(&p).unwrap();
        assert!((cost - direct).abs() < 1e-9, "{cost} vs {direct}");
        let gradient = problem.gradient(&p).unwrap();
        for k in 0..=d {
            let h = 1e-6;
            let (mut up, mut down) = (p.clone(), p.clone());
            up[k] += h;
            down[k] -= h;
            let numeric = (problem.cost(&up).unwrap() - problem.cost(&down).unwrap()) / (2.0 * h);
            assert!(
                (gradient[k] - numeric).abs() < 1e-5,
                "{k}: {} vs {numeric}",
                gradient[k]
            );
        }
    }
}
