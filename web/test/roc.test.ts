// The demander's ROC curve: the checked points, the area under them, where they are drawn and
// what the figure says (src/app/roc.ts).
import { describe, expect, it } from 'vitest';
import { type RocPoint, areaUnder, checkedCurve, rocLayout, rocText } from '../src/app/roc.ts';
import { outputFacts, type TrainingOutput } from '../src/app/result.ts';

const p = (threshold: number, fpr: number, tpr: number): RocPoint => ({ threshold, false_positive_rate: fpr, true_positive_rate: tpr });

// The curve of crates/training's `roc_curve_exact_small_case` (scores 0.9, 0.3 positive; 0.6,
// 0.1 negative), at the thresholds where it moves, as the result lists it: threshold 1 first.
const small = [p(1, 0, 0), p(0.9, 0, 0.5), p(0.6, 0.5, 0.5), p(0.3, 0.5, 1), p(0.1, 1, 1), p(0, 1, 1)];

describe('the ROC curve', () => {
  it('is checked: numbers in [0, 1] only, at least two points, sorted by the rates', () => {
    expect(checkedCurve(small)).toEqual(small);
    expect(checkedCurve([...small].reverse())).toEqual(small);
    expect(checkedCurve(undefined)).toBeNull();
    expect(checkedCurve(null)).toBeNull();
    expect(checkedCurve([p(0, 0, 0)])).toBeNull();
    expect(checkedCurve([p(1, 0, 0), p(0, 1, 1.5)])).toBeNull();
    expect(checkedCurve([p(1, 0, 0), p(0, Number.NaN, 1)])).toBeNull();
    expect(checkedCurve([p(1, 0, 0), { threshold: 0, false_positive_rate: '<b>1</b>', true_positive_rate: 1 }])).toBeNull();
    expect(checkedCurve([p(1, 0, 0), 'x'])).toBeNull();
  });

  it('has the trapezoids’ area: the AUC of the small case, 0.75; 1 and 0.5 at the extremes', () => {
    expect(areaUnder(small)).toBeCloseTo(0.75, 12);
    expect(areaUnder([p(1, 0, 0), p(0.5, 0, 1), p(0, 1, 1)])).toBe(1);
    expect(areaUnder([p(1, 0, 0), p(0, 1, 1)])).toBe(0.5);
  });

  it('is drawn with (0, 0) at the bottom left and (1, 1) at the top right of the plot', () => {
    const l = rocLayout(small, 200);
    const bottom = l.top + l.side;
    expect(l.side).toBe(200);
    expect(l.curve[0]).toEqual([l.left, bottom]);
    expect(l.curve.at(-1)).toEqual([l.left + 200, l.top]);
    expect(l.curve[1]).toEqual([l.left, l.top + 100]);
    expect(l.diagonal).toEqual([
      [l.left, bottom],
      [l.left + 200, l.top],
    ]);
    expect(l.ticks.map((t) => t.value)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(l.ticks[2]).toEqual({ value: 0.5, x: l.left + 100, y: l.top + 100 });
    // Every coordinate is a finite number inside the SVG.
    for (const [x, y] of l.curve) {
      expect(x >= 0 && x <= l.width && y >= 0 && y <= l.height).toBe(true);
    }
  });

  it('states the exact AUC, or that it is approximate under differential privacy', () => {
    const exact = rocText(small, 0.75, false);
    expect(exact.title).toMatch(/ROC curve/);
    expect(exact.description).toMatch(/AUC 0\.750 \(exact/);
    expect(exact.description).toMatch(/diagonal/);
    expect(exact.caption).toMatch(/AUC 0\.750/);
    const curve = [...small, p(0.5, 0.5, 0.5)];
    const noisy = rocText(checkedCurve(curve)!, null, true);
    expect(noisy.description).toMatch(/differential privacy/);
    expect(noisy.description).toMatch(/approximate/);
    expect(noisy.description).not.toMatch(/AUC 0/);
    expect(noisy.description).toMatch(/threshold 0\.5, the false positive rate is 0\.500/);
    expect(noisy.caption).toMatch(/approximate/);
  });

  it('is named among the result’s facts, or its absence explained', () => {
    const base: TrainingOutput = {
      model: { type: 'logistic_regression' },
      parameters: { type: 'logistic_regression' },
      metrics: { type: 'classification', accuracy: 0.9, roc_auc: null, roc_curve: small },
      privacy: { epsilon: 2, delta: 1e-5, mechanism: 'm' },
      records_used: 10,
      train_size: 8,
      test_size: 2,
    };
    expect(Object.fromEntries(outputFacts(base))['ROC curve']).toMatch(/6 points, from noisy counts/);
    const old: TrainingOutput = { ...base, metrics: { type: 'classification', accuracy: 0.9, roc_auc: 0.8 } };
    expect(Object.fromEntries(outputFacts(old))['ROC curve']).toMatch(/not released/);
  });
});
