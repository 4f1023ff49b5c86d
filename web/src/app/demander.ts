// The demander's page: register (Role.Demander), write a model spec and a data requirement,
// submit them signed (Algorithm 2, as Demander::submit), follow the job (submitted → approved →
// verified → result) by polling the API, and fetch, check and decrypt the result here
// (Algorithm 7, as Demander::fetch_result).

import { type Hex, hashStruct } from 'viem';
import { getAll, getBytes, getJson } from './api.ts';
import { EPSILON_INFINITE, epsilonText } from './audit.ts';
import { info, send } from './chain.ts';
import { TYPES, sign } from '../crypto/eip712.ts';
import type { Unlocked } from './identity.ts';
import { onIdentity, registerForm, session } from './identity-page.ts';
import type { JobView, TeeView } from './patient.ts';
import { BUILTIN_SCHEMAS, type Schema, builtinSchema, dataTypeId, unitText } from './records.ts';
import { type ResultMeta, ResultFault, type TrainingOutput, checkResult, openTrainingOutput, outputFacts } from './result.ts';
import { checkedCurve, rocFigure } from './roc.ts';
import { to0x } from '../crypto/bytes.ts';
import {
  type DataRequirement,
  type ModelKind,
  type ModelSpec,
  checkRequirement,
  epsilonMilli,
  hashOf,
  requirementBytes,
  specBytes,
  validateSpec,
} from './spec.ts';
import { Feedback, button, el, facts, field, form, input, select } from './ui.ts';

/** Where a job stands, in the words of the issue's steps. */
export function stage(j: Pick<JobView, 'status' | 'result'>): string {
  switch (j.status) {
    case 'pending':
      return 'submitted: waiting for a reviewer';
    case 'approved':
      return 'approved: waiting for a TEE to verify it';
    case 'deployed':
      return 'verified by a TEE: training';
    case 'completed':
      return 'result posted';
    case 'rejected':
      return 'rejected by the reviewer';
    case 'model_invalid':
      return 'refused by the TEE (the model did not verify)';
    case 'result_disputed':
      return 'result disputed by the demander';
    default:
      return j.status;
  }
}

/** The job id of a submission: hashStruct(ModelSubmission) (eip712.rs `job_id`). */
export const jobIdOf = (submission: Record<string, unknown>): Hex =>
  hashStruct({ data: submission, primaryType: 'ModelSubmission', types: TYPES } as never);

/** Algorithm 2 (Demander::submit): the spec and requirement checked, hashed, the submission
 * signed (SM_j, EIP-712, domain Model) and submitted by a transaction signed here. Returns the
 * job id. */
export async function submitModel(u: Unlocked, spec: ModelSpec, req: DataRequirement, schema: Schema, say: (what: string) => void): Promise<Hex> {
  validateSpec(spec);
  checkRequirement(spec, req, schema);
  const model = specBytes(spec);
  const requirement = requirementBytes(req);
  const i = await info();
  const submission = {
    demander: u.address,
    modelHash: hashOf(model),
    requirementHash: hashOf(requirement),
    dataType: dataTypeId(schema.name),
    timestamp: BigInt(Math.floor(Date.now() / 1000)),
    minCohort: req.min_cohort,
    epsilonMilli: epsilonMilli(spec.privacy.epsilon),
  };
  const signature = await sign(u.sk, BigInt(i.chain_id), i.contracts.model, 'ModelSubmission', submission);
  await send(
    u.sk,
    'model',
    'submitModel',
    [submission.modelHash, submission.requirementHash, submission.dataType, submission.timestamp, submission.minCohort, submission.epsilonMilli, to0x(model), to0x(requirement), signature],
    say,
  );
  return jobIdOf(submission);
}

/** Algorithm 7 (Demander::fetch_result's checks): the result object and the TEE's signature
 * fetched, checked against the chain, decrypted with the demander's key. */
export async function fetchResult(u: Unlocked, j: JobView): Promise<TrainingOutput> {
  const r = j.result;
  if (!r) throw new Error(`job ${j.job} has no result yet`);
  const hash = r.result_hash.slice(2);
  const ciphertext = await getBytes(`/api/objects/results/${hash}`);
  const meta = await getJson<ResultMeta>(`/api/objects/results/${hash}/meta`);
  const tee = (await getAll<TeeView>('/api/tees')).find((t) => t.address.toLowerCase() === r.tee.toLowerCase());
  const i = await info();
  await checkResult(
    BigInt(i.chain_id),
    i.contracts.model,
    { job: j.job, resultHash: r.result_hash, tee: r.tee, viewBlock: r.view_block, viewHash: r.view_hash },
    ciphertext,
    meta,
    tee,
  );
  return openTrainingOutput(u.sk, j.job, ciphertext);
}

export function mountDemander(root: HTMLElement): void {
  const fb = new Feedback();
  const locked = el('p', 'Unlock or create your key (Identity, above) to register and submit models.');
  const body = el('div');
  root.append(locked, ...fb.nodes(), body);
  let timer: ReturnType<typeof setInterval> | undefined;

  const render = (u: Unlocked | undefined): void => {
    fb.clear();
    body.replaceChildren();
    locked.hidden = !!u;
    if (timer) clearInterval(timer);
    if (!u) return;
    body.append(registerForm(u, fb, { code: 2, name: 'demander', title: 'Register as a demander', before: 'submitting' }), specForm(u), jobsBox);
    void refreshJobs(u);
    timer = setInterval(() => {
      if (!root.closest('section')?.hidden) void refreshJobs(u);
    }, 3000);
  };


  const specForm = (u: Unlocked): HTMLElement => {
    const { form: f } = form('Ask for a model');
    const dataType = field('Data type', select(BUILTIN_SCHEMAS.map((s) => [s.name, s.name])));
    const kind = field(
      'Model',
      select([
        ['logistic_regression', 'logistic regression (classifier)'],
        ['decision_tree', 'decision tree (classifier)'],
        ['ridge_regression', 'ridge regression (numeric label)'],
      ]),
    );
    // One fieldset per model kind, shown for the kind chosen.
    const fs = (legend: string): HTMLFieldSetElement => {
      const s = el('fieldset');
      s.append(el('legend', legend));
      return s;
    };
    const lr = fs('Logistic regression');
    const l2 = field('L2 penalty (l2 = 1/C, ≥ 0)', input('number', '1', { step: 'any', min: '0' }));
    const iters = field('Most iterations (1–10000)', input('number', '200', { min: '1', max: '10000' }));
    const tol = field('Tolerance (> 0)', input('number', '0.0001', { step: 'any' }));
    lr.append(l2.wrap, iters.wrap, tol.wrap);
    const dt = fs('Decision tree');
    const depth = field('Maximum depth (1–64)', input('number', '4', { min: '1', max: '64' }));
    const split = field('Fewest records to split a node (≥ 2)', input('number', '10', { min: '2' }));
    const criterion = field('Impurity', select([['gini', 'Gini'], ['entropy', 'entropy']]));
    const bins = field('Bins per feature range (2–64)', input('number', '8', { min: '2', max: '64' }));
    dt.append(depth.wrap, split.wrap, criterion.wrap, bins.wrap);
    const rr = fs('Ridge regression');
    const alpha = field('L2 penalty (alpha, ≥ 0)', input('number', '1', { step: 'any', min: '0' }));
    rr.append(alpha.wrap);
    const showKind = (): void => {
      lr.hidden = kind.control.value !== 'logistic_regression';
      dt.hidden = kind.control.value !== 'decision_tree';
      rr.hidden = kind.control.value !== 'ridge_regression';
    };
    kind.control.addEventListener('change', showKind);
    showKind();

    const features = fs('Features the model reads');
    const label = el('p', undefined, 'help');
    const showFeatures = (): void => {
      const s = builtinSchema(dataType.control.value)!;
      features.replaceChildren(el('legend', 'Features the model reads (the data requirement asks for these)'));
      s.features.forEach((feat, i) => {
        const unit = unitText(feat.unit);
        const c = field(`${feat.name}${unit ? ` (${unit})` : ''}`, input('checkbox'));
        c.control.value = feat.name;
        c.control.checked = i < 3 || feat.name === 'concave_points_worst';
        c.wrap.className = 'check';
        features.append(c.wrap);
      });
      label.textContent = `Label: ${s.label.name}${s.label.classes ? ` (${s.label.classes.map((c, i) => `${i} = ${c}`).join(', ')})` : ''}`;
    };
    dataType.control.addEventListener('change', showFeatures);
    showFeatures();

    const testFraction = field('Held out for evaluation (0–0.5]', input('number', '0.25', { step: 'any' }));
    const seed = field('Seed of the split (without differential privacy)', input('number', '7', { min: '0' }));
    const epsilon = field('ε (privacy loss per record; inf for none)', input('text', '1'));
    const delta = field('δ (ignored when ε is inf)', input('text', '0.00001'));
    const minCohort = field('Smallest cohort to train on', input('number', '100', { min: '1' }));

    f.append(dataType.wrap, kind.wrap, lr, dt, rr, features, label, testFraction.wrap, seed.wrap, epsilon.wrap, delta.wrap, minCohort.wrap);
    f.append(button('Sign and submit', () => {}, 'submit'));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void fb.run(f, async () => {
        const schema = builtinSchema(dataType.control.value)!;
        const num = (x: HTMLInputElement, what: string): number => {
          const v = Number(x.value);
          if (x.value.trim() === '' || !Number.isFinite(v)) throw new Error(`${what}: "${x.value}" is not a number`);
          return v;
        };
        let k: ModelKind;
        if (kind.control.value === 'logistic_regression') {
          k = { type: 'logistic_regression', l2: num(l2.control, 'L2'), max_iterations: num(iters.control, 'iterations'), tolerance: num(tol.control, 'tolerance') };
        } else if (kind.control.value === 'decision_tree') {
          k = {
            type: 'decision_tree',
            max_depth: num(depth.control, 'depth'),
            min_samples_split: num(split.control, 'split'),
            criterion: criterion.control.value as 'gini' | 'entropy',
            bins: num(bins.control, 'bins'),
          };
        } else k = { type: 'ridge_regression', alpha: num(alpha.control, 'alpha') };
        const chosen = [...features.querySelectorAll<HTMLInputElement>('input[type=checkbox]')].filter((c) => c.checked).map((c) => c.value);
        const eps = epsilon.control.value.trim().toLowerCase() === 'inf' ? ('inf' as const) : num(epsilon.control, 'ε');
        const spec: ModelSpec = {
          kind: k,
          features: chosen,
          label: schema.label.name,
          test_fraction: num(testFraction.control, 'held out'),
          seed: num(seed.control, 'seed'),
          privacy: eps === 'inf' ? { epsilon: 'inf' } : { epsilon: eps, delta: num(delta.control, 'δ') },
        };
        const req: DataRequirement = { data_type: schema.name, features: chosen, label: schema.label.name, min_cohort: num(minCohort.control, 'cohort') };
        validateSpec(spec);
        checkRequirement(spec, req, schema);
        const job = await submitModel(u, spec, req, schema, (t) => fb.say(t));
        fb.say(`Submitted: job ${job}. It is followed below.`);
        await refreshJobs(u);
      });
    });
    return f;
  };

  const jobsBox = el('section');
  jobsBox.append(el('h3', 'Your jobs'));
  const jobsList = el('div');
  jobsList.setAttribute('aria-live', 'polite');
  jobsBox.append(jobsList);
  const opened = new Map<string, HTMLElement>();

  const refreshJobs = async (u: Unlocked): Promise<void> => {
    let jobs: JobView[];
    try {
      jobs = (await getAll<JobView>('/api/jobs')).filter((j) => j.demander.toLowerCase() === u.address.toLowerCase());
    } catch (e) {
      fb.fail(e);
      return;
    }
    const shown = jobsList.dataset.state;
    const state = JSON.stringify(jobs.map((j) => [j.job, j.status]));
    if (shown === state) return;
    jobsList.dataset.state = state;
    jobsList.replaceChildren();
    if (jobs.length === 0) jobsList.append(el('p', 'You have submitted no job yet.'));
    for (const j of jobs.reverse()) {
      const item = el('article', undefined, 'job');
      item.append(el('h4', `Job ${j.job}`));
      const steps = el('ol', undefined, 'steps');
      const order = ['pending', 'approved', 'deployed', 'completed'];
      const at = order.indexOf(j.status);
      ['submitted', 'approved', 'verified', 'result'].forEach((name, n) => {
        const li = el('li', name, n <= at ? 'done' : 'todo');
        if (n === at) li.setAttribute('aria-current', 'step');
        steps.append(li);
      });
      item.append(
        el('p', `Now: ${stage(j)}.`),
        steps,
        facts([
          ['ε per record', j.epsilon_milli === EPSILON_INFINITE ? '∞' : epsilonText(j.epsilon_milli)],
          ['Smallest cohort', String(j.min_cohort)],
          ['Submitted', new Date(j.submitted_at * 1000).toISOString()],
        ]),
      );
      if (j.result) {
        const out = opened.get(j.job) ?? el('div');
        opened.set(j.job, out);
        const local = new Feedback();
        const open = button('Fetch, check and decrypt the result', () => local.run(item, () => showResult(u, j, out, local)));
        item.append(open, ...local.nodes(), out);
      }
      jobsList.append(item);
    }
  };

  const showResult = async (u: Unlocked, j: JobView, out: HTMLElement, local: Feedback): Promise<void> => {
    local.say('Fetching the result and the TEE’s signature…');
    let output: TrainingOutput;
    try {
      output = await fetchResult(u, j);
    } catch (e) {
      if (e instanceof ResultFault) {
        // Algorithm 7, §5.5.3(b): a result that fails a check is reported on chain. The
        // demander decides here (Demander::fetch_result reports at once).
        out.replaceChildren(
          button('Report this result as failed on chain', () =>
            local.run(out, async () => {
              await send(u.sk, 'model', 'reportResultFailure', [j.job, e.message], (t) => local.say(t));
              local.say('Reported: the job is marked result_disputed.');
            }),
          ),
        );
      }
      throw e;
    }
    const r = j.result!;
    out.replaceChildren(
      el('p', `Checked: the result hashes to ${r.result_hash} and is signed by the admitted TEE ${r.tee}; decrypted in this browser.`),
      facts(outputFacts(output)),
    );
    const p = output.parameters;
    if (p.features && p.coefficients) {
      const table = el('table');
      table.append(el('caption', `Fitted coefficients (features scaled to [−1, 1]); intercept ${String(p.intercept)}`));
      const head = el('tr');
      head.append(el('th', 'Feature'), el('th', 'Coefficient'));
      table.append(head);
      p.features.forEach((name, n) => {
        const tr = el('tr');
        tr.append(el('td', name), el('td', String(p.coefficients![n])));
        table.append(tr);
      });
      out.append(table);
    }
    const m = output.metrics;
    if (m?.type === 'classification') {
      const curve = checkedCurve(m.roc_curve);
      if (curve) out.append(rocFigure(curve, typeof m.roc_auc === 'number' ? m.roc_auc : null, output.privacy.epsilon !== 'inf'));
      else out.append(el('p', 'No ROC curve: the held-out records were of one class (or, under differential privacy, one class’s noisy count came to nothing), or the result was made before curves were released.', 'help'));
    }
    local.say('Result checked and decrypted.');
  };

  onIdentity(render);
  render(session());
}
