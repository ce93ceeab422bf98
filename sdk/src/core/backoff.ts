/**
 * Reconnect delay for attempt `n` (1, 2, 3, …): `min · 2^(n-1)` capped at `max`, then
 * jittered to between half and all of that ("equal jitter"), so a relay restart is not met
 * by every client at the same instant while no delay collapses towards zero.
 */
export function backoff(n: number, min: number, max: number, random: () => number = Math.random): number {
  const d = Math.min(max, min * 2 ** (n - 1));
  return d / 2 + (random() * d) / 2;
}
