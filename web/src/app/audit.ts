// The patient's audit trail, as the page shows it: every use of a record (the API's audit
// entries) beside the record's privacy budget now. Pure functions, tested in test/audit.test.ts.

/** ε in thousandths meaning "no differential privacy" (a job) or "unlimited" (a budget). */
export const EPSILON_INFINITE = 4294967295;

/** A record of the patient (`/api/owners/{owner}/records`). */
export interface RecordView {
  ciphertext_hash: string;
  data_type: string;
  commitment: string;
  live: boolean;
  budget: { total_milli: number; spent_milli: number };
  block?: number | null;
  transaction?: string | null;
}

/** One use of a record (`/api/owners/{owner}/audit`). */
export interface AuditEntry {
  job: string;
  record: string;
  demander: string;
  model_hash: string;
  requirement_hash: string;
  model_hash_ok: boolean;
  record_hash_ok: boolean;
  outcome: string;
  epsilon_milli: number;
  tee: string;
  view_block: number;
  timestamp: number;
  block?: number | null;
}

/** ε in thousandths, as a person reads it. */
export function epsilonText(milli: number): string {
  if (milli === EPSILON_INFINITE) return '∞';
  return String(milli / 1000);
}

const OUTCOMES: Record<string, string> = {
  used: 'used to train the model',
  training_failed: 'decrypted, but the training failed (no model was released)',
  refused_integrity: 'excluded: its stored copy or signature did not match what you registered',
  refused_key: 'excluded: its key could not be recovered',
  refused_content: 'excluded: its content did not fit the model',
  refused_budget: 'excluded: its privacy budget could not pay',
};

/** An outcome, in words. */
export function outcomeText(outcome: string): string {
  return OUTCOMES[outcome] ?? `excluded (${outcome})`;
}

/** A row of the timeline. */
export interface TimelineRow {
  when: string;
  job: string;
  record: string;
  demander: string;
  modelHash: string;
  tee: string;
  outcome: string;
  used: boolean;
  /** What this use cost, e.g. "ε 2" or "nothing". */
  spent: string;
  /** What the record's budget has left now, e.g. "1 of 3 left" or "unlimited". */
  remains: string;
}

/** Seconds since the epoch, as an ISO date and time (UTC). */
export function when(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The timeline: every entry, newest first, with each record's budget now. */
export function timeline(records: RecordView[], entries: AuditEntry[]): TimelineRow[] {
  const budgets = new Map(records.map((r) => [r.ciphertext_hash.toLowerCase(), r.budget]));
  return [...entries]
    .sort((a, b) => b.timestamp - a.timestamp || (b.block ?? 0) - (a.block ?? 0))
    .map((e) => {
      const budget = budgets.get(e.record.toLowerCase());
      let remains = 'budget unknown';
      if (budget) {
        remains =
          budget.total_milli === EPSILON_INFINITE
            ? 'unlimited budget'
            : `ε ${epsilonText(Math.max(0, budget.total_milli - budget.spent_milli))} of ${epsilonText(budget.total_milli)} left`;
      }
      const free = e.epsilon_milli === 0;
      return {
        when: when(e.timestamp),
        job: e.job,
        record: e.record,
        demander: e.demander,
        modelHash: e.model_hash,
        tee: e.tee,
        outcome: outcomeText(e.outcome),
        used: e.outcome === 'used',
        spent: free ? 'nothing spent' : e.epsilon_milli === EPSILON_INFINITE ? 'no differential privacy' : `ε ${epsilonText(e.epsilon_milli)} spent`,
        remains,
      };
    });
}

/** Whether `s` is a 0x-prefixed 20-byte hex address. */
export function isAddress(s: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(s);
}
