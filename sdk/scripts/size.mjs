// Size budget: each published bundle (main-thread code with the worker inlined) must stay within
// BUDGET bytes minified + gzip, the ESM build for bundlers and the classic script the relay serves
// as /beacon.js alike (a page loads one of them). Fails the test run past it.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 6 * 1024;
let over = false;
for (const name of ['index.js', 'script.js']) {
  const raw = readFileSync(new URL('../dist/' + name, import.meta.url));
  const gz = gzipSync(raw, { level: 9 }).length;
  const line = `size: dist/${name} ${raw.length} B minified, ${gz} B min+gzip (budget ${BUDGET} B)`;
  if (gz > BUDGET) {
    console.error(line + ' — OVER BUDGET');
    over = true;
  } else console.log(line);
}
if (over) process.exit(1);
