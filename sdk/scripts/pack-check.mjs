// `npm pack` into DIR (default: the repo's dist/), then prove the tarball installs and works as a
// user gets it: installed into an empty project, imported by Node, and type-checked by a
// TypeScript consumer under both module resolutions users have (bundler, nodenext).
//   node scripts/pack-check.mjs [DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = fileURLToPath(new URL('..', import.meta.url));
const dest = resolve(process.argv[2] || join(sdk, '..', 'dist'));
mkdirSync(dest, { recursive: true });
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

// The build first, then pack without scripts: prepack would build again and mix its output into the JSON.
run('node', ['scripts/build.mjs'], sdk);
const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], sdk));
const files = packed.files.map((f) => f.path).sort();
const want = ['README.md', 'dist/beacon.d.ts', 'dist/default.d.ts', 'dist/index.d.ts', 'dist/index.js', 'dist/script.js', 'package.json'];
if (files.join() != want.join()) throw new Error(`pack-check: the tarball holds ${files.join(', ')}; want ${want.join(', ')}`);
const tgz = join(dest, packed.filename);

const app = mkdtempSync(join(tmpdir(), 'beacon-sdk-pack-'));
try {
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', tgz], app);
  run('node', ['-e', `
    const m = await import('@beacon/sdk');
    if (typeof m.createBeacon != 'function' || typeof m.beacon != 'function' || typeof m.beacon.init != 'function')
      throw new Error('exports: ' + Object.keys(m));
    const s = await import('node:fs').then((fs) => fs.readFileSync(new URL(import.meta.resolve('@beacon/sdk/script.js'))));
    if (/\\bexport\\b/.test(s) || s.length < 1000) throw new Error('script.js is not the classic build');`], app);
  writeFileSync(join(app, 'use.ts'), `
    import { beacon, createBeacon, type BeaconOptions, type DefaultBeacon } from '@beacon/sdk';
    const options: BeaconOptions = { host: 'https://beacon.example.com', project: 'p' };
    const b: DefaultBeacon = beacon.init(options);
    const id: string | undefined = b('track', 'signup', { plan: 'pro' });
    const other = createBeacon({ ...options, debug: true });
    other.onFlags((f) => f['x'] === true);
    export { id };
  `);
  const tsc = join(sdk, 'node_modules', '.bin', 'tsc');
  for (const [module, resolution] of [['esnext', 'bundler'], ['nodenext', 'nodenext']]) {
    run(tsc, ['--noEmit', '--strict', '--types', '', '--lib', 'es2020,dom', '--module', module, '--moduleResolution', resolution, 'use.ts'], app);
  }
} finally {
  rmSync(app, { recursive: true, force: true });
}
console.log(`pack-check: ${tgz} (${packed.size} B, ${files.length} files) installs, imports and type-checks`);
