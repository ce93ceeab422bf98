// Segment's own Node library, @segment/analytics-node, unchanged but for its host, against a real
// Beacon relay ($BEACON_BIN) on a migrated database ($DATABASE_URL): track, page, identify, alias,
// group and a batch of 1,000 land exactly once, including after the relay failed a request on
// purpose (a proxy in front of it answers the first batch 503 after the relay stored it, so the
// library's retry is a true re-send); a bad key, an over-limit batch and a gzip bomb are refused.
// Run by `just test-segment` (docs/protocol.md, "Segment-compatible API").
import { Analytics } from '@segment/analytics-node';
import { execFileSync, spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { createServer as netServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import assert from 'node:assert/strict';

const bin = process.env.BEACON_BIN;
const databaseUrl = process.env.DATABASE_URL;
if (!bin || !databaseUrl) throw new Error('set BEACON_BIN and DATABASE_URL (a migrated database)');

const beacon = (...args) =>
  execFileSync(bin, args, { env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8', timeout: 30000 }).trim();
const sql = (q) => execFileSync('psql', [databaseUrl, '-X', '-q', '-t', '-A', '-c', q], { encoding: 'utf8' }).trim();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRelay() {
  const port = await freePort();
  const log = createWriteStream('relay.log', { flags: 'w' });
  const child = spawn(bin, [], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', METRICS_ADDR: `127.0.0.1:${await freePort()}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  for (const deadline = Date.now() + 30000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}; see relay.log`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return { url: `http://127.0.0.1:${port}`, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('relay not ready within 30 s; see relay.log');
}

/** A proxy to target that lets the relay handle the first /v1/batch and answers it 503. */
function failFirst(target) {
  let seen = 0;
  const stats = { requests: 0, failed: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      stats.requests++;
      const fail = req.url === '/v1/batch' && seen++ === 0;
      const up = request(target + req.url, { method: req.method, headers: req.headers }, (r) => {
        const out = [];
        r.on('data', (c) => out.push(c));
        r.on('end', () => {
          if (fail) {
            stats.failed++;
            res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"error":"unavailable"}');
          } else {
            res.writeHead(r.statusCode, r.headers).end(Buffer.concat(out));
          }
        });
      });
      up.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, stats, url: `http://127.0.0.1:${server.address().port}` })));
}

const project = beacon('project', 'create', '--name', 'Segment e2e');
const key = beacon('writekey', 'create', '--project', project, '--name', 'analytics-node').split('\n')[0];
assert.match(key, /^bwk_/);
const relay = await startRelay();
const proxy = await failFirst(relay.url);
try {
  const analytics = new Analytics({ writeKey: key, host: proxy.url, flushAt: 1000, flushInterval: 200, maxRetries: 5 });
  const failures = [];
  analytics.on('error', (e) => failures.push(e));
  analytics.track({ userId: 'n1', event: 'Signed Up', properties: { plan: 'pro' } });
  analytics.page({ anonymousId: 'na', name: 'Pricing', properties: { url: 'https://shop.example/pricing', path: '/pricing', title: 'Pricing' } });
  analytics.identify({ userId: 'n1', anonymousId: 'na', traits: { email: 'n1@example.com' } });
  analytics.alias({ previousId: 'nb', userId: 'n1' });
  analytics.group({ userId: 'n1', groupId: 'acme', traits: { name: 'Acme' } });
  for (let i = 0; i < 1000; i++) analytics.track({ anonymousId: 'bulk', event: 'Bulk', properties: { i } });
  await analytics.closeAndFlush({ timeout: 60000 });
  assert.deepEqual(failures, [], 'the library reported failures');
  assert.ok(proxy.stats.failed === 1 && proxy.stats.requests >= 2, `requests ${JSON.stringify(proxy.stats)}: the failed batch was not retried`);

  const n = (q) => Number(sql(q.replaceAll('$P', `'${project}'`)));
  const checks = [
    [`SELECT count(*) FROM beacon.events WHERE project_id = $P AND name = 'Bulk'`, 1000],
    [`SELECT count(DISTINCT props->>'i') FROM beacon.events WHERE project_id = $P AND name = 'Bulk'`, 1000],
    [`SELECT count(*) FROM beacon.events WHERE project_id = $P AND name = 'Signed Up' AND user_id = 'n1' AND props->>'$lib' = '@segment/analytics-node'`, 1],
    [`SELECT count(*) FROM beacon.events WHERE project_id = $P AND name = '$pageview' AND props->>'path' = '/pricing' AND anon_id = 'na'`, 1],
    [`SELECT count(*) FROM beacon.events WHERE project_id = $P AND name = '$group' AND props->>'$group_key' = 'acme'`, 1],
    [`SELECT count(*) FROM beacon.events WHERE project_id = $P`, 1003],
    [`SELECT count(*) FROM beacon.users WHERE project_id = $P AND user_id = 'n1' AND traits->>'email' = 'n1@example.com'`, 1],
    [`SELECT count(*) FROM beacon.aliases WHERE project_id = $P AND user_id = 'n1' AND anon_id IN ('na', 'nb')`, 2],
  ];
  for (const [q, want] of checks) assert.equal(n(q), want, q);

  // Refusals, straight to the relay.
  const post = (body, headers = {}, k = key) =>
    fetch(relay.url + '/v1/batch', {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from(k + ':').toString('base64'), ...headers },
    });
  const one = JSON.stringify({ batch: [{ type: 'track', userId: 'x', event: 'e' }] });
  let r = await post(one, {}, 'bwk_wrong');
  assert.equal(r.status, 401, 'a wrong key');
  assert.equal((await r.json()).error, 'bad_write_key');
  const big = JSON.stringify({ batch: Array.from({ length: 2000 }, (_, i) => ({ type: 'track', userId: 'x', event: 'e', properties: { pad: 'p'.repeat(300), i } })) });
  r = await post(big);
  assert.equal(r.status, 400, 'an over-limit batch');
  assert.match((await r.json()).message, /512000 bytes/);
  const bomb = gzipSync(Buffer.concat([Buffer.from('{"batch":['), Buffer.alloc(100 << 20, ' ')]), { level: 9 });
  r = await post(bomb, { 'Content-Encoding': 'gzip' });
  assert.equal(r.status, 400, 'a gzip bomb');
  assert.equal((await r.json()).error, 'batch_too_large');
  assert.equal(n(`SELECT count(*) FROM beacon.events WHERE project_id = $P`), 1003, 'refused requests stored something');
  console.log('segment e2e: analytics-node delivered 1,005 messages exactly once; bad key, over-limit batch and gzip bomb refused');
} finally {
  proxy.server.close();
  relay.child.kill('SIGTERM');
}
