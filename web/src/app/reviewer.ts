// The reviewer's page: the jobs still pending review, each spec shown readably, approved or
// rejected with a reason by a transaction signed here (as Reviewer::pending / approve / reject).

import { getAll } from './api.ts';
import { EPSILON_INFINITE, epsilonText } from './audit.ts';
import { send } from './chain.ts';
import type { Unlocked } from './identity.ts';
import { accountOf, onIdentity, session } from './identity-page.ts';
import type { JobView } from './patient.ts';
import { BUILTIN_SCHEMAS, dataTypeId } from './records.ts';
import { describeSpec } from './spec.ts';
import { Feedback, button, el, facts, field, form, input } from './ui.ts';

export function mountReviewer(root: HTMLElement): void {
  const fb = new Feedback();
  const who = el('p');
  const list = el('div');
  list.setAttribute('aria-live', 'polite');
  const reload = button('Reload the queue', () => fb.run(null, () => refresh(session())));
  root.append(who, reload, ...fb.nodes(), list);

  const refresh = async (u: Unlocked | undefined): Promise<void> => {
    who.textContent = u ? 'Reading your role…' : 'Anyone may read the queue; unlock a reviewer’s key (Identity, above) to approve or reject.';
    if (u) {
      void accountOf(u.address).then(
        (a) => (who.textContent = a.reviewer ? `You (${u.address}) are a reviewer.` : `${u.address} is not a reviewer: governance appoints reviewers. Approving and rejecting will be refused.`),
        (e: unknown) => fb.fail(e),
      );
    }
    const pending = (await getAll<JobView>('/api/jobs')).filter((j) => j.status === 'pending');
    list.replaceChildren();
    if (pending.length === 0) {
      list.append(el('p', 'No model is waiting for review.'));
      return;
    }
    for (const j of pending) {
      const item = el('article', undefined, 'job');
      item.append(el('h3', `Job ${j.job}`));
      const d = describeSpec(j.model, j.requirement);
      const type = BUILTIN_SCHEMAS.find((s) => dataTypeId(s.name) === j.data_type.toLowerCase())?.name ?? j.data_type;
      item.append(
        facts([
          ['Demander', j.demander],
          ['Data type on chain', type],
          ['ε per record', j.epsilon_milli === EPSILON_INFINITE ? '∞ (no differential privacy: the model can reveal records)' : epsilonText(j.epsilon_milli)],
          ['Smallest cohort on chain', String(j.min_cohort)],
          ...d.facts,
        ]),
      );
      if (d.problems.length > 0) {
        const warn = el('ul', undefined, 'problems');
        warn.setAttribute('aria-label', 'Problems with this spec');
        for (const p of d.problems) warn.append(el('li', p));
        item.append(el('p', 'This spec does not validate:'), warn);
      }
      const raw = el('details');
      raw.append(el('summary', 'The spec and requirement as submitted'), el('pre', j.model), el('pre', j.requirement));
      item.append(raw);
      if (u) {
        const { form: f } = form('Your decision', 'h4');
        const reason = field('Reason (required to reject; recorded on chain)', input('text'));
        const local = new Feedback();
        f.append(
          reason.wrap,
          button('Approve', () =>
            local.run(f, async () => {
              await send(u.sk, 'model', 'approveModel', [j.job], (s) => local.say(s));
              await refresh(u);
            }),
          ),
          button('Reject', () =>
            local.run(f, async () => {
              const why = reason.control.value.trim();
              if (!why) {
                reason.control.focus();
                throw new Error('give a reason to reject: the demander reads it');
              }
              await send(u.sk, 'model', 'rejectModel', [j.job, why], (s) => local.say(s));
              await refresh(u);
            }),
          ),
          ...local.nodes(),
        );
        f.addEventListener('submit', (ev) => ev.preventDefault());
        item.append(f);
      }
      list.append(item);
    }
  };

  onIdentity((u) => void fb.run(null, () => refresh(u)));
  void fb.run(null, () => refresh(session()));
}
