// Number, percent and duration formatting, and the period comparison the KPI cards show. Pure
// functions, tested in test/format.test.ts.

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const exact = new Intl.NumberFormat('en');

/** 999 → "999", 1234 → "1.2K", 2_500_000 → "2.5M": short enough for a card. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return Math.abs(n) < 1000 ? exact.format(Math.round(n * 10) / 10) : compact.format(n);
}

/** The exact figure with thousands separators, for titles and tables: 1234567 → "1,234,567". */
export function formatExact(n: number): string {
  return Number.isFinite(n) ? exact.format(n) : '—';
}

/** A ratio as a signed percentage: 0.125 → "+12.5%", -0.5 → "−50%", 0 → "0%". */
export function formatChange(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  const pct = Math.round(ratio * 1000) / 10;
  if (pct === 0) return '0%';
  const abs = Math.abs(pct);
  const text = abs >= 100 ? String(Math.round(abs)) : String(abs);
  return `${pct > 0 ? '+' : '−'}${text}%`;
}

/** A share as a plain percentage: 0.4567 → "45.7%". */
export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** Seconds as a short duration: 45 → "45s", 185 → "3m 05s", 3720 → "1h 02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** How a figure moved against the previous period. */
export interface Change {
  /** (current − previous) / previous; null when there is nothing to compare with. */
  ratio: number | null;
  direction: 'up' | 'down' | 'flat' | 'new' | 'none';
  /** What a person reads: "+12%", "new", "no change", "no data". */
  label: string;
}

/** Compares a figure with the previous period's. */
export function compare(current: number, previous: number): Change {
  if (previous === 0) {
    if (current === 0) return { ratio: null, direction: 'none', label: 'no data' };
    return { ratio: null, direction: 'new', label: 'new' };
  }
  const ratio = (current - previous) / previous;
  if (Math.abs(ratio) < 0.0005) return { ratio: 0, direction: 'flat', label: 'no change' };
  return { ratio, direction: ratio > 0 ? 'up' : 'down', label: formatChange(ratio) };
}

/** a / b, or 0 when b is 0 (views per session of a period without sessions). */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** A referrer as a person reads it: none (the API says "(direct)" or "") is "Direct / none". */
export function referrerLabel(referrer: string): string {
  return !referrer || referrer === '(direct)' ? 'Direct / none' : referrer;
}
