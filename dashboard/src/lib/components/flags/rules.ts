// The flag page's pure code: rules as people read and edit them, and a change's before → after.
// Tested in test/flags.test.ts.
import type { FlagRule } from '$lib/api';

/** How a rule's value(s) are typed in the editor; the SQL compares JSON, so "1" is not 1. */
export type ValueKind = 'text' | 'number' | 'boolean';

/** A rule as the editor holds it: values as typed, `values` comma-separated for `in`. */
export interface RuleDraft {
  trait: string;
  op: FlagRule['op'];
  kind: ValueKind;
  value: string;
}

const kindOf = (v: unknown): ValueKind => (typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'text');

/** A stored rule → the editor's draft. */
export function toDraft(r: FlagRule): RuleDraft {
  if (r.op === 'eq') return { trait: r.trait, op: 'eq', kind: kindOf(r.value), value: String(r.value) };
  if (r.op === 'in') return { trait: r.trait, op: 'in', kind: kindOf(r.values[0]), value: r.values.map(String).join(', ') };
  return { trait: r.trait, op: 'exists', kind: 'text', value: '' };
}

function parseValue(s: string, kind: ValueKind): unknown {
  const t = s.trim();
  if (kind === 'number') {
    const n = Number(t);
    if (t === '' || !Number.isFinite(n)) throw new Error(`"${t}" is not a number`);
    return n;
  }
  if (kind === 'boolean') {
    if (t !== 'true' && t !== 'false') throw new Error(`"${t}" is not true or false`);
    return t === 'true';
  }
  return t;
}

/** The editor's drafts → rules for the API; throws an Error naming the rule when one is incomplete. */
export function fromDrafts(drafts: RuleDraft[]): FlagRule[] {
  return drafts.map((d, i) => {
    const trait = d.trait.trim();
    const where = `Rule ${i + 1}`;
    if (!trait) throw new Error(`${where}: name the trait`);
    try {
      if (d.op === 'exists') return { trait, op: 'exists' };
      if (d.op === 'eq') return { trait, op: 'eq', value: parseValue(d.value, d.kind) };
      const values = d.value.split(',').filter((v) => v.trim() !== '').map((v) => parseValue(v, d.kind));
      if (values.length === 0) throw new Error('give at least one value');
      return { trait, op: 'in', values };
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  });
}

const show = (v: unknown) => (typeof v === 'string' ? `“${v}”` : String(v));

/** A rule in words: plan is “pro”, country is one of “US”, “CA”, beta is set. */
export function describeRule(r: FlagRule): string {
  if (r.op === 'eq') return `${r.trait} is ${show(r.value)}`;
  if (r.op === 'in') return `${r.trait} is one of ${r.values.map(show).join(', ')}`;
  return `${r.trait} is set`;
}

/** All rules in words, or "Everyone". */
export function describeRules(rules: FlagRule[]): string {
  return rules.length === 0 ? 'Everyone' : rules.map(describeRule).join(' and ');
}

/** A rollout percentage as people write it: 25 → "25%", 12.5 → "12.5%". */
export function formatRollout(n: number): string {
  return `${Number(n.toFixed(2))}%`;
}

/** One field that a change changed, in words. */
export interface FieldChange {
  field: string;
  before: string;
  after: string;
}

const fields: [string, string, (v: unknown) => string][] = [
  ['enabled', 'State', (v) => (v ? 'On' : 'Off')],
  ['rollout_percent', 'Rollout', (v) => formatRollout(Number(v))],
  ['rules', 'Targeting', (v) => describeRules((v as FlagRule[]) ?? [])],
  ['client_visible', 'Browsers', (v) => (v ? 'Receive it' : 'Server only')],
  ['description', 'Description', (v) => (v ? String(v) : '(none)')],
];

/**
 * The fields a change changed, before → after, in words. A creation lists the new flag's fields
 * ("—" before), a deletion the old one's ("—" after).
 */
export function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown> | null): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [key, field, fmt] of fields) {
    const b = before ? fmt(before[key]) : '—';
    const a = after ? fmt(after[key]) : '—';
    if (b !== a) out.push({ field, before: b, after: a });
  }
  return out;
}
