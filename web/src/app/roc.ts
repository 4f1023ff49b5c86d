// The ROC curve of a classifier's result, drawn as an inline SVG on the demander's page. The
// points come from the decrypted result (crates/training/src/metrics.rs, `roc_curve`: the rates
// at the thresholds k/20 of the predicted probability, exact without differential privacy, from
// noisy counts under it). The math is pure and tested (test/roc.test.ts); the drawing puts every
// value in as a number or as text (setAttribute, textContent), never as HTML.

/** One point of `roc_curve` (RocPoint in crates/training/src/metrics.rs). */
export interface RocPoint {
  threshold: number;
  false_positive_rate: number;
  true_positive_rate: number;
}

const isRate = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1;

/** The curve of a decrypted result, checked: at least two points, each with rates and a
 * threshold that are numbers in [0, 1], sorted by false then true positive rate (then by
 * falling threshold). `null` when absent or malformed (nothing is drawn from a value that is not
 * a number). */
export function checkedCurve(raw: unknown): RocPoint[] | null {
  if (!Array.isArray(raw) || raw.length < 2) return null;
  const points: RocPoint[] = [];
  for (const p of raw as unknown[]) {
    if (typeof p !== 'object' || p === null) return null;
    const { threshold, false_positive_rate, true_positive_rate } = p as Record<string, unknown>;
    if (!isRate(threshold) || !isRate(false_positive_rate) || !isRate(true_positive_rate)) return null;
    points.push({ threshold, false_positive_rate, true_positive_rate });
  }
  return points.sort(
    (a, b) => a.false_positive_rate - b.false_positive_rate || a.true_positive_rate - b.true_positive_rate || b.threshold - a.threshold,
  );
}

/** The area under the points (trapezoids, in the order of `checkedCurve`). */
export function areaUnder(points: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    area += ((b.false_positive_rate - a.false_positive_rate) * (a.true_positive_rate + b.true_positive_rate)) / 2;
  }
  return area;
}

/** Where things go in the SVG's coordinates (y grows downwards). */
export interface RocLayout {
  width: number;
  height: number;
  /** The plot's square: left, top and side. */
  left: number;
  top: number;
  side: number;
  /** The curve's vertices. */
  curve: [number, number][];
  /** The chance diagonal, from (0, 0) to (1, 1). */
  diagonal: [[number, number], [number, number]];
  /** Tick values on both axes, with their position along the axis. */
  ticks: { value: number; x: number; y: number }[];
}

/** Maps the rates into an SVG of a `side`-wide square plot with room for the axes' labels. */
export function rocLayout(points: readonly RocPoint[], side = 240): RocLayout {
  const left = 56;
  const top = 12;
  const x = (fpr: number): number => round(left + fpr * side);
  const y = (tpr: number): number => round(top + (1 - tpr) * side);
  return {
    width: left + side + 16,
    height: top + side + 48,
    left,
    top,
    side,
    curve: points.map((p) => [x(p.false_positive_rate), y(p.true_positive_rate)]),
    diagonal: [
      [x(0), y(0)],
      [x(1), y(1)],
    ],
    ticks: [0, 0.25, 0.5, 0.75, 1].map((value) => ({ value, x: x(value), y: y(value) })),
  };
}

const round = (v: number): number => Math.round(v * 100) / 100;

/** The figure's accessible title and description: the AUC when it was released, or that the
 * curve (and the area under it) is approximate under differential privacy. */
export function rocText(
  points: readonly RocPoint[],
  auc: number | null,
  isPrivate: boolean,
): { title: string; description: string; caption: string } {
  const title = 'ROC curve on the held-out records';
  const area = areaUnder(points).toFixed(3);
  const half = points.find((p) => Math.abs(p.threshold - 0.5) < 1e-9);
  const atHalf = half
    ? ` At the threshold 0.5, the false positive rate is ${half.false_positive_rate.toFixed(3)} and the true positive rate ${half.true_positive_rate.toFixed(3)}.`
    : '';
  const read = `True positive rate against false positive rate at ${points.length} thresholds of the predicted probability, with the diagonal of a random guess.`;
  let description: string;
  let caption: string;
  if (isPrivate) {
    description = `${read} Approximate: released under differential privacy from noisy counts; the exact AUC is not released, and the area under this curve, about ${area}, is approximate.${atHalf}`;
    caption = `${title}: approximate (differential privacy), area about ${area}.`;
  } else if (auc !== null) {
    description = `${read} AUC ${auc.toFixed(3)} (exact; the area under these ${points.length} points is ${area}).${atHalf}`;
    caption = `${title}: AUC ${auc.toFixed(3)}.`;
  } else {
    description = `${read} The area under these points is ${area}.${atHalf}`;
    caption = `${title}: area ${area}.`;
  }
  return { title, description, caption };
}

const SVG = 'http://www.w3.org/2000/svg';
let figures = 0;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, number | string>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The ROC curve as an inline SVG (role img, titled and described), in a figure with a caption. */
export function rocFigure(points: readonly RocPoint[], auc: number | null, isPrivate: boolean): HTMLElement {
  const l = rocLayout(points);
  const { title, description, caption: short } = rocText(points, auc, isPrivate);
  const id = `roc-${++figures}`;
  const root = svg('svg', {
    viewBox: `0 0 ${l.width} ${l.height}`,
    width: l.width,
    height: l.height,
    role: 'img',
    'aria-labelledby': `${id}-title ${id}-desc`,
  });
  root.append(svg('title', { id: `${id}-title` }, title), svg('desc', { id: `${id}-desc` }, description));
  const bottom = l.top + l.side;
  root.append(svg('rect', { x: l.left, y: l.top, width: l.side, height: l.side, fill: 'white', stroke: '#999' }));
  for (const t of l.ticks) {
    const label = String(t.value);
    root.append(
      svg('line', { x1: t.x, y1: bottom, x2: t.x, y2: bottom + 5, stroke: '#555' }),
      svg('text', { x: t.x, y: bottom + 18, 'text-anchor': 'middle', 'font-size': 11 }, label),
      svg('line', { x1: l.left - 5, y1: t.y, x2: l.left, y2: t.y, stroke: '#555' }),
      svg('text', { x: l.left - 8, y: t.y + 4, 'text-anchor': 'end', 'font-size': 11 }, label),
    );
  }
  root.append(
    svg('text', { x: l.left + l.side / 2, y: bottom + 38, 'text-anchor': 'middle', 'font-size': 12 }, 'False positive rate'),
    svg(
      'text',
      { x: 14, y: l.top + l.side / 2, 'text-anchor': 'middle', 'font-size': 12, transform: `rotate(-90 14 ${l.top + l.side / 2})` },
      'True positive rate',
    ),
    svg('line', {
      x1: l.diagonal[0][0],
      y1: l.diagonal[0][1],
      x2: l.diagonal[1][0],
      y2: l.diagonal[1][1],
      stroke: '#888',
      'stroke-dasharray': '4 4',
    }),
    svg('polyline', {
      points: l.curve.map(([x, y]) => `${x},${y}`).join(' '),
      fill: 'none',
      stroke: '#0b4f8a',
      'stroke-width': 2,
    }),
  );
  for (const [x, y] of l.curve) root.append(svg('circle', { cx: x, cy: y, r: 2.5, fill: '#0b4f8a' }));
  const figure = document.createElement('figure');
  figure.className = 'roc';
  const caption = document.createElement('figcaption');
  caption.textContent = short;
  figure.append(root, caption);
  return figure;
}
