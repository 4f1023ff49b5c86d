// Governance's page (the admins): the TEEs and their admission, reviewers appointed and removed,
// data types' rules — each a transaction signed here, as `medshare governance` sends it
// (bin/medshare/parties/governance.rs, crates/parties/src/governance.rs).
//
// Admitting a TEE: "Verify and admit" asks `medshare serve` to verify the TEE's submitted
// evidence with governance's own verifier, as `medshare governance admit-tee` does (an SGX or TDX
// quote against the collateral given here, or simulated evidence bound to this deployment;
// GET/POST /api/tees/{address}/admission), shows the verified facts, and only then signs
// `admitTee` here with the measurement the evidence attests (admission.ts). The server signs
// nothing.

import type { Address, Hex } from 'viem';
import { admissionFacts, admitTeeArgs, kindText, verifyAdmission } from './admission.ts';
import { getAll } from './api.ts';
import { EPSILON_INFINITE, epsilonText } from './audit.ts';
import { send, view } from './chain.ts';
import type { Unlocked } from './identity.ts';
import { accountOf, onIdentity, session } from './identity-page.ts';
import { type TeeView, parseBudget } from './patient.ts';
import { BUILTIN_SCHEMAS, dataTypeId } from './records.ts';
import { Feedback, button, el, facts, field, form, input, select } from './ui.ts';

const ZERO32 = `0x${'0'.repeat(64)}` as Hex;

export function mountGovernance(root: HTMLElement): void {
  const fb = new Feedback();
  const who = el('p');
  const body = el('div');
  root.append(who, ...fb.nodes(), body);

  const render = (u: Unlocked | undefined): void => {
    fb.clear();
    body.replaceChildren(teesBox);
    who.textContent = u ? 'Reading your role…' : 'Unlock an admin’s key (Identity, above) to act.';
    void refreshTees(u);
    if (!u) return;
    void accountOf(u.address).then(
      (a) => (who.textContent = a.admin ? `You (${u.address}) are an admin.` : `${u.address} is not an admin: every action here will be refused.`),
      (e: unknown) => fb.fail(e),
    );
    body.append(reviewerForms(u), rulesForm(u));
  };

  const teesBox = el('section');
  const teesList = el('div');
  teesBox.append(el('h3', 'TEEs'), teesList);
  const refreshTees = async (u: Unlocked | undefined): Promise<void> => {
    try {
      const tees = await getAll<TeeView>('/api/tees');
      teesList.replaceChildren();
      if (tees.length === 0) teesList.append(el('p', 'No TEE has submitted its key and evidence yet (`medshare enclave register`).'));
      for (const t of tees) {
        const item = el('article', undefined, 'tee');
        item.append(
          el('h4', `TEE ${t.address}`),
          facts([
            ['State', t.active ? 'active: records may be shared with it' : t.admitted ? (t.unrevoked ? 'admitted, not active (measurement or evidence kind no longer accepted)' : 'revoked') : 'submitted, not admitted'],
            ['Evidence', `${t.evidence_kind}, keccak256 ${t.evidence_hash}`],
            ['Measurement', t.measurement],
            ['Chain view', t.unverified_headers ? 'rests on unsigned headers' : 'verified headers'],
          ]),
        );
        if (!t.admitted) item.append(admitBox(u, t));
        if (u && t.admitted && t.unrevoked) {
          const local = new Feedback();
          item.append(
            button(`Revoke TEE ${t.address}`, () =>
              local.run(item, async () => {
                if (!confirm(`Revoke TEE ${t.address}? Its jobs stop and no record is shared with it again.`)) return;
                await send(u.sk, 'registration', 'revokeTee', [t.address as Address], (s) => local.say(s));
                await refreshTees(u);
              }),
            ),
            ...local.nodes(),
          );
        }
        teesList.append(item);
      }
    } catch (e) {
      fb.fail(e);
    }
  };

  // A TEE submitted but not admitted: its evidence verified by the server, the facts shown, then
  // `admitTee` signed here after the admin confirms them.
  const admitBox = (u: Unlocked | undefined, t: TeeView): HTMLElement => {
    const box = el('div');
    if (!u) {
      box.append(el('p', 'Unlock an admin’s key (Identity, above) to verify its evidence and admit it.', 'help'));
      return box;
    }
    const local = new Feedback();
    const verified = el('div');
    const collateral = field(
      `Collateral of TEE ${t.address}’s quote (optional)`,
      input('file', '', { accept: 'application/json,.json' }),
      'JSON as Intel PCS or a PCCS serves it; needed only for SGX or TDX evidence, not for simulated evidence.',
    );
    box.append(
      collateral.wrap,
      button(`Verify and admit TEE ${t.address}`, () =>
        local.run(box, async () => {
          verified.replaceChildren();
          const file = collateral.control.files?.[0];
          let body: unknown;
          if (file) {
            try {
              body = JSON.parse(await file.text());
            } catch (e) {
              throw new Error(`the collateral file ${file.name} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
          local.say('Verifying its evidence…');
          const a = await verifyAdmission(t.address, t.evidence_hash, body);
          verified.append(el('h5', 'Verified evidence'), facts(admissionFacts(a)));
          local.say('Its evidence verifies.');
          const question =
            `Admit TEE ${t.address}?\n\nMeasurement: ${a.measurement}\nKind: ${kindText(a.evidence_kind)}\n` +
            `Headers: ${a.unverified_headers ? 'unsigned' : 'verified'}\nTCB status: ${a.tcb_status ?? 'none (simulated)'}\n\n` +
            'Records may then be shared with it.';
          if (!confirm(question)) {
            local.say('Not admitted.');
            return;
          }
          await send(u.sk, 'registration', 'admitTee', admitTeeArgs(a), (s) => local.say(s));
          await refreshTees(u);
          fb.say(`TEE ${t.address} admitted with measurement ${a.measurement} (${kindText(a.evidence_kind)}).`);
        }),
      ),
      verified,
      ...local.nodes(),
    );
    return box;
  };

  const reviewerForms = (u: Unlocked): HTMLElement => {
    const box = el('section');
    box.append(el('h3', 'Reviewers'));
    const { form: a } = form('Appoint a reviewer', 'h4');
    const key = field('The reviewer’s 64-byte public key (0x…, as `medshare key show` or the Identity panel prints it)', input('text'));
    a.append(key.wrap, button('Appoint', () => {}, 'submit'));
    a.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void fb.run(a, async () => {
        const k = key.control.value.trim();
        if (!/^0x[0-9a-fA-F]{128}$/.test(k)) throw new Error('a public key is 0x and 128 hexadecimal digits (64 bytes, without the 04 prefix)');
        await send(u.sk, 'registration', 'appointReviewer', [k], (s) => fb.say(s));
        fb.say('Reviewer appointed.');
      });
    });
    const { form: r } = form('Remove a reviewer', 'h4');
    const addr = field('The reviewer’s address (jobs it approved stop running)', input('text'));
    r.append(addr.wrap, button('Remove', () => {}, 'submit'));
    r.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void fb.run(r, async () => {
        const x = addr.control.value.trim();
        if (!/^0x[0-9a-fA-F]{40}$/.test(x)) throw new Error('an address is 0x and 40 hexadecimal digits');
        await send(u.sk, 'registration', 'removeReviewer', [x], (s) => fb.say(s));
        fb.say('Reviewer removed.');
      });
    });
    box.append(a, r);
    return box;
  };

  const rulesForm = (u: Unlocked): HTMLElement => {
    const { form: f } = form("A data type's rules");
    const dataType = field('Data type (built-in schemas; a new schema is published with `medshare governance data-type --schema`)', select(BUILTIN_SCHEMAS.map((s) => [s.name, s.name])));
    const current = el('p', undefined, 'help');
    current.setAttribute('aria-live', 'polite');
    const minCohort = field('Smallest cohort a job may train on (≥ 2)', input('number', '50', { min: '2' }));
    const maxEps = field('Largest ε a job may ask for (empty: no cap)', input('text', ''));
    const nonPrivate = field('Allow models without differential privacy (ε = ∞): such a model can reveal records', input('checkbox'));
    const read = (): void => {
      void view('model', 'dataTypeRules', [dataTypeId(dataType.control.value)]).then(
        (r) => {
          const [min, max, allow] = r as [number, number, boolean, Hex];
          current.textContent = `Now: smallest cohort ${min}, largest ε ${max === 0 ? 'no cap' : max === EPSILON_INFINITE ? '∞' : epsilonText(max)}, non-private ${allow ? 'allowed' : 'not allowed'}.`;
          minCohort.control.value = String(min);
          maxEps.control.value = max === 0 ? '' : epsilonText(max);
          nonPrivate.control.checked = allow;
        },
        (e: unknown) => fb.fail(e),
      );
    };
    dataType.control.addEventListener('change', read);
    read();
    f.append(dataType.wrap, current, minCohort.wrap, maxEps.wrap, nonPrivate.wrap, button('Set the rules', () => {}, 'submit'));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void fb.run(f, async () => {
        const min = Number(minCohort.control.value);
        if (!Number.isInteger(min) || min < 2 || min > 4294967295) throw new Error('the smallest cohort is a whole number of at least 2');
        const max = maxEps.control.value.trim() === '' ? 0 : parseBudget(maxEps.control.value);
        // Model.setDataTypeRules(id, minCohort, maxEpsilonMilli, allowNonPrivate, schemaHash = 0 for built-in schemas).
        await send(u.sk, 'model', 'setDataTypeRules', [dataTypeId(dataType.control.value), min, max, nonPrivate.control.checked, ZERO32], (s) => fb.say(s));
        fb.say('Rules set.');
        read();
      });
    });
    return f;
  };

  onIdentity(render);
  render(session());
}
