// The demander's spec and requirement, checked as ModelSpec::validate and Demander::submit do.
import { describe, expect, it } from 'vitest';
import { EPSILON_INFINITE } from '../src/app/audit.ts';
import { builtinSchema } from '../src/app/records.ts';
import {
  type DataRequirement,
  type ModelSpec,
  checkRequirement,
  describeSpec,
  epsilonMilli,
  requirementBytes,
  specBytes,
  validateSpec,
} from '../src/app/spec.ts';

// `medshare demander spec --example logistic_regression` and `--requirement`.
const example: ModelSpec = {
  features: ['radius_mean', 'texture_mean', 'concave_points_worst'],
  kind: { l2: 1.0, max_iterations: 200, tolerance: 0.0001, type: 'logistic_regression' },
  label: 'diagnosis',
  privacy: { delta: 0.00001, epsilon: 1.0 },
  seed: 7,
  test_fraction: 0.25,
};
const requirement: DataRequirement = {
  data_type: 'breast-cancer-wdbc',
  features: ['radius_mean', 'texture_mean', 'concave_points_worst'],
  label: 'diagnosis',
  min_cohort: 100,
};
const wdbc = builtinSchema('breast-cancer-wdbc')!;

describe('a model spec', () => {
  it('accepts the example and writes the fields ModelSpec reads', () => {
    validateSpec(example);
    checkRequirement(example, requirement, wdbc);
    expect(JSON.parse(new TextDecoder().decode(specBytes(example)))).toEqual(example);
    expect(new TextDecoder().decode(requirementBytes(requirement))).toBe(
      '{"data_type":"breast-cancer-wdbc","features":["radius_mean","texture_mean","concave_points_worst"],"label":"diagnosis","min_cohort":100}',
    );
    const inf = { ...example, privacy: { epsilon: 'inf' as const } };
    validateSpec(inf);
    expect(new TextDecoder().decode(specBytes(inf))).toContain('"privacy":{"epsilon":"inf"}');
  });

  it('refuses what ModelSpec::validate refuses, naming the field', () => {
    const bad = (patch: Partial<ModelSpec>): (() => void) => () => validateSpec({ ...example, ...patch });
    expect(bad({ test_fraction: 0.6 })).toThrow(/test_fraction/);
    expect(bad({ kind: { type: 'logistic_regression', l2: -1, max_iterations: 200, tolerance: 1e-4 } })).toThrow(/l2/);
    expect(bad({ kind: { type: 'logistic_regression', l2: 1, max_iterations: 0, tolerance: 1e-4 } })).toThrow(/max_iterations/);
    expect(bad({ kind: { type: 'logistic_regression', l2: 1, max_iterations: 10, tolerance: 0 } })).toThrow(/tolerance/);
    expect(bad({ kind: { type: 'decision_tree', max_depth: 65, min_samples_split: 2, criterion: 'gini', bins: 8 } })).toThrow(/max_depth/);
    expect(bad({ kind: { type: 'decision_tree', max_depth: 3, min_samples_split: 2, criterion: 'gini', bins: 1 } })).toThrow(/bins/);
    expect(bad({ features: [] })).toThrow(/no feature/);
    expect(bad({ features: ['radius_mean', 'radius_mean'] })).toThrow(/twice/);
    expect(bad({ privacy: { epsilon: 0 } })).toThrow(/ε/);
    expect(bad({ privacy: { epsilon: 1 } })).toThrow(/δ/);
    expect(bad({ privacy: { epsilon: 'inf', delta: 1e-5 } })).toThrow(/δ is given/);
  });

  it('refuses a requirement that does not fit the spec or the data type', () => {
    expect(() => checkRequirement({ ...example, features: ['area_mean'] }, requirement, wdbc)).toThrow(/does not ask for/);
    expect(() => checkRequirement(example, { ...requirement, features: [...requirement.features, 'height'] }, wdbc)).toThrow(/"height" is not in/);
    expect(() => checkRequirement(example, { ...requirement, min_cohort: 0 }, wdbc)).toThrow(/min_cohort/);
    expect(() => checkRequirement({ ...example, label: 'x' }, requirement, wdbc)).toThrow(/label/);
  });

  it('puts ε in thousandths as the contracts do', () => {
    expect(epsilonMilli(1)).toBe(1000);
    expect(epsilonMilli(0.001)).toBe(1);
    expect(epsilonMilli('inf')).toBe(EPSILON_INFINITE);
    expect(() => epsilonMilli(0.0001)).toThrow(/thousandths/);
    expect(() => epsilonMilli(1.0005)).toThrow(/thousandths/);
  });

  it('reads a submitted spec for a reviewer, and says what is wrong with a bad one', () => {
    const d = describeSpec(new TextDecoder().decode(specBytes(example)), new TextDecoder().decode(requirementBytes(requirement)));
    expect(d.problems).toEqual([]);
    expect(Object.fromEntries(d.facts)).toMatchObject({
      Model: 'logistic regression',
      Hyperparameters: 'l2 = 1, max_iterations = 200, tolerance = 0.0001',
      Features: 'radius_mean, texture_mean, concave_points_worst',
      Privacy: 'ε = 1, δ = 0.00001',
      'Smallest cohort': '100',
    });
    expect(describeSpec('<script>', '{}').problems[0]).toMatch(/not JSON/);
    expect(describeSpec(JSON.stringify({ ...example, test_fraction: 0.9 }), '{}').problems[0]).toMatch(/test_fraction/);
  });
});
