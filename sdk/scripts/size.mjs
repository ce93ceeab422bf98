// Size budget: each published bundle (main-thread code with the worker inlined) must stay within
// BUDGET bytes minified + gzip, the ESM build for bundlers and the classic script the relay serves
// as /beacon.js alike (a page loads one of them). Fails the test run past it, and when a bundler
// would keep the default instance in a page that imports only createBeacon.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const BUDGET = 6 * 1024;
let failed = false;
const report = (what, raw) => {
  const gz = gzipSync(raw, { level: 9 }).length;
  const line = `size: ${what} ${raw.length} B minified, ${gz} B min+gzip (budget ${BUDGET} B)`;
  if (gz > BUDGET) {
    console.error(line + ' — OVER BUDGET');
    failed = true;
  } else console.log(line);
};
for (const name of ['index.js', 'script.js']) report('dist/' + name, readFileSync(new URL('../dist/' + name, import.meta.url)));

// What a bundler makes of `import { createBeacon }` alone: the default instance must be left out.
const app = await build({
  stdin: { contents: "import { createBeacon } from './dist/index.js'; globalThis.b = createBeacon;", resolveDir: new URL('..', import.meta.url).pathname },
  bundle: true,
  minify: true,
  format: 'esm',
  write: false,
  logLevel: 'warning',
});
const only = app.outputFiles[0].contents;
report('createBeacon alone, as bundled by esbuild', only);
if (Buffer.from(only).includes('already started')) {
  console.error('size: a bundle importing only createBeacon keeps the default instance: its call lost /* @__PURE__ */ (scripts/build.mjs)');
  failed = true;
}
if (failed) process.exit(1);
