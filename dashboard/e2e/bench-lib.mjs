// What the dashboard benchmarks (bench-overview.mjs, bench-tail.mjs) share: Debian's Chromium
// through playwright-core (never a download), a signed-in browser context, percentiles, and the
// one result line the Go harness (bench/dashbrowser.go) reads. Settings come from the environment:
// BENCH_ORIGIN (the relay), BENCH_EMAIL and BENCH_PASSWORD (an account made with `beacon account
// create`), BENCH_PROJECT, BENCH_RUNS.
import { chromium } from 'playwright-core';

export const env = {
  origin: need('BENCH_ORIGIN'),
  email: need('BENCH_EMAIL'),
  password: need('BENCH_PASSWORD'),
  project: need('BENCH_PROJECT'),
  runs: Number(process.env.BENCH_RUNS || 20),
};

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} must be set (the Go harness sets it: go run ./bench dashboard)`);
    process.exit(2);
  }
  return v;
}

export const LAPTOP = { width: 1280, height: 800 };

/** Headless Chromium as the e2e tests launch it. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A browser context signed in through POST /api/session (its cookie jar is the context's). */
export async function signedIn(browser) {
  const context = await browser.newContext({ viewport: LAPTOP });
  context.setDefaultTimeout(120000); // a slow build must be measured, not cut off
  const r = await context.request.post(`${env.origin}/api/session`, {
    data: { email: env.email, password: env.password },
    headers: { Origin: env.origin },
  });
  if (!r.ok()) throw new Error(`sign-in: ${r.status()} ${await r.text()}`);
  return context;
}

/** p50, p95 and max of a list of milliseconds (nearest rank, as bench/stats.go). */
export function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, p50: q(0.5), p95: q(0.95), max: s[s.length - 1], all: s.map((x) => Math.round(x * 10) / 10) };
}

/** The one line the Go harness reads; everything else goes to stderr. */
export function result(obj) {
  console.log('BENCH_RESULT ' + JSON.stringify(obj));
}
