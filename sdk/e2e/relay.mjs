// Starts and kills the real Go relay ($BEACON_BIN) for the e2e test.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream } from 'node:fs';

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `beacon project create`; returns the new project's id. */
export function createProject(bin, databaseUrl, name, origin) {
  const out = execFileSync(bin, ['project', 'create', '--name', name, '--origin', origin], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    timeout: 30000,
  });
  const id = out.trim();
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error(`project create printed ${JSON.stringify(out)}, not a project id`);
  return id;
}

/** `beacon project secret`: the project's identity secret, for the server side of identify. */
export function projectSecret(bin, databaseUrl, id) {
  const out = execFileSync(bin, ['project', 'secret', id], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    timeout: 30000,
  });
  const secret = out.trim();
  if (!/^[0-9a-f]{64}$/.test(secret)) throw new Error(`project secret printed ${out.length} bytes, not a secret`);
  return secret;
}

/**
 * A relay on 127.0.0.1:port, logging to `logFile`. start() waits for /readyz; kill() sends
 * SIGKILL (a crash); stop() sends SIGTERM and then SIGKILL after 5 s; abort() kills at once.
 */
export function relay(bin, databaseUrl, port, logFile) {
  const log = createWriteStream(logFile, { flags: 'a' });
  let child;
  const exited = () => new Promise((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', resolve)));
  return {
    url: `http://127.0.0.1:${port}`,
    async start() {
      log.write(`--- starting relay on ${port}\n`);
      // /metrics on a free port of its own: the default 127.0.0.1:9464 may be held by a `just dev`
      // relay or another test run, and the relay would not start.
      const metrics = process.env.METRICS_ADDR ?? `127.0.0.1:${await freePort()}`;
      child = spawn(bin, [], {
        env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', METRICS_ADDR: metrics },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      const deadline = Date.now() + 30000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode}; see ${logFile}`);
        try {
          const r = await fetch(`http://127.0.0.1:${port}/readyz`);
          if (r.ok) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`relay not ready within 30 s; see ${logFile}`);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited();
      log.write('--- relay killed (SIGKILL)\n');
    },
    /** Kill at once, synchronously (for an aborting test run). */
    abort() {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited();
      clearTimeout(t);
    },
  };
}
