import { describe, expect, it } from 'vitest';
import type { FlagRule } from '../src/lib/api';
import { changedFields, describeRules, formatRollout, fromDrafts, toDraft } from '../src/lib/components/flags/rules';

describe('rules round trip through the editor', () => {
  it.each([
    [{ trait: 'plan', op: 'eq', value: 'pro' }],
    [{ trait: 'seats', op: 'eq', value: 10 }],
    [{ trait: 'beta', op: 'eq', value: true }],
    [{ trait: 'country', op: 'in', values: ['US', 'CA'] }],
    [{ trait: 'tier', op: 'in', values: [1, 2] }],
    [{ trait: 'beta', op: 'exists' }],
  ] as [FlagRule][])('%o', (rule) => expect(fromDrafts([toDraft(rule)])).toEqual([rule]));
});

describe('fromDrafts refuses what the SQL would', () => {
  it.each([
    [{ trait: ' ', op: 'exists', kind: 'text', value: '' }, 'Rule 1: name the trait'],
    [{ trait: 'seats', op: 'eq', kind: 'number', value: 'ten' }, 'Rule 1: "ten" is not a number'],
    [{ trait: 'beta', op: 'eq', kind: 'boolean', value: 'yes' }, 'Rule 1: "yes" is not true or false'],
    [{ trait: 'country', op: 'in', kind: 'text', value: ' , ' }, 'Rule 1: give at least one value'],
  ] as const)('%o', (draft, message) => expect(() => fromDrafts([{ ...draft }])).toThrow(message));

  it('trims values and keeps text as text', () => {
    expect(fromDrafts([{ trait: ' plan ', op: 'in', kind: 'text', value: ' pro , 1 ' }])).toEqual([{ trait: 'plan', op: 'in', values: ['pro', '1'] }]);
  });
});

describe('describing', () => {
  it('rules', () => {
    expect(describeRules([])).toBe('Everyone');
    expect(describeRules([{ trait: 'plan', op: 'eq', value: 'pro' }, { trait: 'country', op: 'in', values: ['US', 'CA'] }, { trait: 'beta', op: 'exists' }])).toBe(
      'plan is “pro” and country is one of “US”, “CA” and beta is set',
    );
  });
  it('rollouts', () => {
    expect([0, 25, 12.5, 33.33, 100].map(formatRollout)).toEqual(['0%', '25%', '12.5%', '33.33%', '100%']);
  });
  it('a change as before → after, only what changed', () => {
    const before = { key: 'k', enabled: false, rollout_percent: 25, rules: [], client_visible: true, description: '' };
    expect(changedFields(before, { ...before, enabled: true, rollout_percent: 50.5, updated_at: 'x' })).toEqual([
      { field: 'State', before: 'Off', after: 'On' },
      { field: 'Rollout', before: '25%', after: '50.5%' },
    ]);
    expect(changedFields(null, before).map((c) => c.field)).toEqual(['State', 'Rollout', 'Targeting', 'Browsers', 'Description']);
    expect(changedFields(before, null)[0]).toEqual({ field: 'State', before: 'Off', after: '—' });
  });
});
