// Number, percent and duration formatting. Pure functions, tested in test/format.test.ts (the
// overview's comparisons are in components/overview/metrics.ts).

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
