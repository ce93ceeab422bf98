// Size budget: the published bundle (main-thread code with the worker inlined) must stay
// within BUDGET bytes minified + gzip. Fails the test run past it.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 6 * 1024;
const file = new URL('../dist/index.js', import.meta.url);
const raw = readFileSync(file);
const gz = gzipSync(raw, { level: 9 }).length;
const line = `size: dist/index.js ${raw.length} B minified, ${gz} B min+gzip (budget ${BUDGET} B)`;
if (gz > BUDGET) {
  console.error(line + ' — OVER BUDGET');
  process.exit(1);
}
console.log(line);
