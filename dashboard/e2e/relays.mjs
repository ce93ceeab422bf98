// A second relay for the cases that need other settings (a banner, MFA, SSO, a read replica): on
// the same database and binary as the suite's relay, with env set in its environment.
import { tmpdir } from 'node:os';
import { freePort, relay as makeRelay } from '../../sdk/e2e/relay.mjs';

/** Starts a relay with env on port (a free one by default); its log goes to a file named after name. */
export async function relayWith(env, name, port) {
  port ??= await freePort();
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const r = makeRelay(process.env.BEACON_BIN, process.env.DATABASE_URL, port, `${tmpdir()}/beacon-dashboard-e2e-${name}-${process.pid}.log`);
  try {
    await r.start();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return r;
}
