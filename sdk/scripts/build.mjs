// Builds dist/: the core is bundled first into one self-contained function, which replaces
// src/core/factory.ts in the main bundles, so its source text can become the worker's Blob
// while the very same function also runs on the main thread when no worker can start.
// Two main bundles: dist/index.js (ESM, for bundlers) and dist/script.js (a classic script
// that starts from its own tag; the relay serves it as /beacon.js, see sdkjs/).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Property names the minifier may shorten: members of the SDK's internal objects only (queue,
// store, transport, pending mirror, identities, resolved options), never a name of the public API,
// the wire protocol, the DOM or a built-in object (`add`, `get`, `set`, `stop`… are those, and
// stay). The main bundles reuse the core's choices (mangleCache) so the two halves agree.
const mangleProps = /^(items|remove|del|all|pump|identity|refused|done|settled|current|core|events|ready)$/;
const common = { bundle: true, minify: true, target: 'es2019', write: false, logLevel: 'warning', mangleProps };

const core = await build({ ...common, absWorkingDir: root, entryPoints: ['src/core/index.ts'], format: 'esm', mangleCache: {} });
const text = core.outputFiles[0].text.trim();
const exported = /export\s*\{\s*([\w$]+)\s+as\s+default\s*\};?$/.exec(text);
if (!exported) throw new Error('build: core bundle has no default export: ' + text.slice(-80));
const factory = `export default function(){${text.slice(0, exported.index)}return ${exported[1]}}`;

/** Resolves `./core/factory` to the self-contained factory. */
const inlineCore = {
  name: 'inline-core',
  setup(b) {
    b.onResolve({ filter: /\/core\/factory$/ }, () => ({ path: 'core-factory', namespace: 'beacon' }));
    b.onLoad({ filter: /.*/, namespace: 'beacon' }, () => ({ contents: factory, loader: 'js' }));
  },
};

rmSync(root + 'dist', { recursive: true, force: true });
mkdirSync(root + 'dist');
for (const [entry, format, outfile] of [
  ['src/index.ts', 'esm', 'dist/index.js'],
  ['src/script.ts', 'iife', 'dist/script.js'],
]) {
  await build({ ...common, absWorkingDir: root, entryPoints: [entry], format, outfile, write: true, plugins: [inlineCore], mangleCache: { ...core.mangleCache } });
}
// esbuild's minifier drops `/* @__PURE__ */`, so a bundler would keep the default instance (index.ts's
// last line) in a page that imports only createBeacon: put the annotation back on that one call.
// size.mjs checks that a bundler then leaves it out.
const esm = readFileSync(root + 'dist/index.js', 'utf8');
const local = /export\s*\{[^}]*?([\w$]+) as beacon\b/.exec(esm);
const call = local && new RegExp(`([,;{}]|\\b(?:var|let|const) )${local[1].replace(/\$/g, '\\$')}=(?=[\\w$]+\\([\\w$]+\\)[,;])`).exec(esm);
if (!call) throw new Error('build: cannot find the default instance\'s call in dist/index.js to mark it pure');
const at = call.index + call[0].length;
writeFileSync(root + 'dist/index.js', esm.slice(0, at) + '/* @__PURE__ */' + esm.slice(at));

// The hand-written declarations, as written, and an index that re-exports both.
copyFileSync(root + 'src/beacon.d.ts', root + 'dist/beacon.d.ts');
copyFileSync(root + 'src/default.d.ts', root + 'dist/default.d.ts');
writeFileSync(root + 'dist/index.d.ts', "export * from './beacon.js';\nexport * from './default.js';\n");
console.log('built dist/index.js, dist/script.js and their declarations');
