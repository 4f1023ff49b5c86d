// The demander's model spec and data requirement, as crates/training (ModelSpec) and
// crates/records (DataRequirement) read them, checked here as `Demander::submit`
// (crates/parties/src/demander.rs) and `ModelSpec::validate` check them before anything is signed.
// Pure functions, tested in test/spec.test.ts.

import { keccak256, type Hex } from 'viem';
import { EPSILON_INFINITE } from './audit.ts';
import type { Schema } from './records.ts';

export type ModelKind =
  | { type: 'logistic_regression'; l2: number; max_iterations: number; tolerance: number }
  | { type: 'ridge_regression'; alpha: number }
  | { type: 'decision_tree'; max_depth: number; min_samples_split: number; criterion: 'gini' | 'entropy'; bins: number };

export interface Privacy {
  /** ε > 0, or "inf" for no differential privacy. */
  epsilon: number | 'inf';
  /** δ in (0, 1) when ε is finite; absent when it is infinite. */
  delta?: number;
}

export interface ModelSpec {
  kind: ModelKind;
  features: string[];
  label: string;
  test_fraction: number;
  seed: number;
  privacy: Privacy;
}

export interface DataRequirement {
  data_type: string;
  features: string[];
  label: string;
  min_cohort: number;
}

export class SpecError extends Error {}

const bad = (field: string, value: unknown, range: string): SpecError =>
  new SpecError(`${field} must be ${range}, got ${String(value)}`);

/** ModelSpec::validate's checks. */
export function validateSpec(spec: ModelSpec): void {
  const t = spec.test_fraction;
  if (!(Number.isFinite(t) && t > 0 && t <= 0.5)) throw bad('test_fraction', t, 'in (0, 0.5]');
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) throw bad('seed', spec.seed, 'a whole number ≥ 0');
  const k = spec.kind;
  switch (k.type) {
    case 'logistic_regression':
      if (!(Number.isFinite(k.l2) && k.l2 >= 0)) throw bad('l2', k.l2, 'finite and ≥ 0');
      if (!(Number.isInteger(k.max_iterations) && k.max_iterations >= 1 && k.max_iterations <= 10000)) {
        throw bad('max_iterations', k.max_iterations, '1 to 10000');
      }
      if (!(Number.isFinite(k.tolerance) && k.tolerance > 0)) throw bad('tolerance', k.tolerance, 'finite and > 0');
      break;
    case 'ridge_regression':
      if (!(Number.isFinite(k.alpha) && k.alpha >= 0)) throw bad('alpha', k.alpha, 'finite and ≥ 0');
      break;
    case 'decision_tree':
      if (!(Number.isInteger(k.max_depth) && k.max_depth >= 1 && k.max_depth <= 64)) throw bad('max_depth', k.max_depth, '1 to 64');
      if (!(Number.isInteger(k.min_samples_split) && k.min_samples_split >= 2)) {
        throw bad('min_samples_split', k.min_samples_split, 'a whole number ≥ 2');
      }
      if (!(Number.isInteger(k.bins) && k.bins >= 2 && k.bins <= 64)) throw bad('bins', k.bins, '2 to 64');
      break;
  }
  if (spec.features.length === 0) throw new SpecError('the model reads no feature: choose at least one');
  const seen = new Set<string>();
  for (const f of spec.features) {
    if (seen.has(f)) throw new SpecError(`feature "${f}" appears twice`);
    seen.add(f);
  }
  const { epsilon, delta } = spec.privacy;
  if (epsilon === 'inf') {
    if (delta !== undefined) throw new SpecError('δ is given without differential privacy (ε = ∞): leave it out');
  } else {
    if (!(Number.isFinite(epsilon) && epsilon > 0)) throw bad('ε', epsilon, '> 0, or ∞');
    if (delta === undefined || !(delta > 0 && delta < 1)) throw bad('δ', delta, 'in (0, 1)');
  }
}

/** ε in thousandths as the contracts hold it (medshare_contracts::epsilon_milli). */
export function epsilonMilli(epsilon: number | 'inf'): number {
  if (epsilon === 'inf') return EPSILON_INFINITE;
  const milli = epsilon * 1000;
  const rounded = Math.round(milli);
  if (!(rounded >= 1 && rounded < EPSILON_INFINITE) || Math.abs(milli - rounded) > 1e-6) {
    throw new SpecError(`ε ${epsilon} is not a whole number of thousandths between 0.001 and 4294967.294`);
  }
  return rounded;
}

/** Demander::submit's checks of the requirement against the spec and the data type's schema. */
export function checkRequirement(spec: ModelSpec, req: DataRequirement, schema: Schema): void {
  if (req.features.length === 0) throw new SpecError('the requirement names no feature');
  if (!(Number.isInteger(req.min_cohort) && req.min_cohort >= 1 && req.min_cohort <= 1_000_000_000)) {
    throw bad('min_cohort', req.min_cohort, '1 to 1000000000');
  }
  const missing = spec.features.find((f) => !req.features.includes(f));
  if (missing) throw new SpecError(`the model reads "${missing}", which the requirement does not ask for`);
  if (spec.label !== req.label) throw new SpecError(`the model's label "${spec.label}" is not the requirement's "${req.label}"`);
  if (req.data_type !== schema.name) throw new SpecError(`the requirement asks for "${req.data_type}", the schema is "${schema.name}"`);
  const unknown = req.features.find((f) => !schema.features.some((s) => s.name === f));
  if (unknown) throw new SpecError(`feature "${unknown}" is not in "${schema.name}"`);
  if (req.label !== schema.label.name) throw new SpecError(`label "${req.label}" is not the label of "${schema.name}" ("${schema.label.name}")`);
  const categorical = (schema.label.classes ?? []).length > 0;
  if (spec.kind.type !== 'ridge_regression' && !categorical) {
    throw new SpecError(`a classifier needs a categorical label; "${schema.label.name}" is numeric: use ridge regression`);
  }
}

/** The bytes submitted and hashed: compact JSON in a fixed field order. */
export function specBytes(spec: ModelSpec): Uint8Array {
  const privacy: Privacy = spec.privacy.epsilon === 'inf' ? { epsilon: 'inf' } : { epsilon: spec.privacy.epsilon, delta: spec.privacy.delta };
  return new TextEncoder().encode(
    JSON.stringify({ kind: spec.kind, features: spec.features, label: spec.label, test_fraction: spec.test_fraction, seed: spec.seed, privacy }),
  );
}

/** RM_j's bytes, in DataRequirement's field order (what `to_json` writes). */
export function requirementBytes(req: DataRequirement): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ data_type: req.data_type, features: req.features, label: req.label, min_cohort: req.min_cohort }),
  );
}

export const hashOf = (bytes: Uint8Array): Hex => keccak256(bytes);

/** A submitted spec as a reviewer reads it: one line per fact, or why it does not parse. */
export function describeSpec(modelJson: string, requirementJson: string): { facts: [string, string][]; problems: string[] } {
  const facts: [string, string][] = [];
  const problems: string[] = [];
  let spec: Partial<ModelSpec> | undefined;
  try {
    spec = JSON.parse(modelJson) as Partial<ModelSpec>;
  } catch (e) {
    problems.push(`the model spec is not JSON: ${(e as Error).message}`);
  }
  if (spec) {
    const kind = spec.kind as Record<string, unknown> | undefined;
    const names: Record<string, string> = {
      logistic_regression: 'logistic regression',
      ridge_regression: 'ridge regression',
      decision_tree: 'decision tree',
    };
    facts.push(['Model', names[String(kind?.type)] ?? `unknown (${String(kind?.type)})`]);
    if (kind) {
      const params = Object.entries(kind).filter(([k]) => k !== 'type');
      facts.push(['Hyperparameters', params.map(([k, v]) => `${k} = ${String(v)}`).join(', ') || 'none']);
    }
    facts.push(['Features', Array.isArray(spec.features) ? spec.features.join(', ') : 'missing']);
    facts.push(['Label', String(spec.label)]);
    facts.push(['Held out', spec.test_fraction === undefined ? '0.25 (default)' : String(spec.test_fraction)]);
    const p = spec.privacy as Privacy | undefined;
    facts.push([
      'Privacy',
      !p ? 'missing' : p.epsilon === 'inf' ? 'none: ε = ∞ (the model can reveal records)' : `ε = ${String(p.epsilon)}, δ = ${String(p.delta)}`,
    ]);
    try {
      validateSpec(spec as ModelSpec);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  try {
    const req = JSON.parse(requirementJson) as Partial<DataRequirement>;
    facts.push(['Data type', String(req.data_type)]);
    facts.push(['Records may give', Array.isArray(req.features) ? req.features.join(', ') : 'missing']);
    facts.push(['Smallest cohort', String(req.min_cohort)]);
  } catch (e) {
    problems.push(`the data requirement is not JSON: ${(e as Error).message}`);
  }
  return { facts, problems };
}
