// Benchmark: the events page's live tail, commit → row on screen (issue 12: ≤ 2 s), against the
// real relay and a benchmark database. Run by the Go harness (bench/dashbrowser.go) with the
// settings of bench-lib.mjs.
//
// The Events page is open with the live tail on, the only page of its browser (so visible and
// never throttled as a background tab; the result says its visibilityState). Each sample sends
// one event with a unique name from Node, not from a browser tab: POST /v1/events
// (docs/protocol.md), whose answer comes after the event committed, and takes that answer's time;
// a MutationObserver in the Events page takes the time its row appears. Both are wall-clock times
// of one machine (Date.now() in Node and in the page). The answer comes a little after the commit,
// so ack → row slightly understates commit → row; send → row is reported beside it as the upper
// bound. Samples are spaced by an irregular gap, so they fall anywhere in the page's poll cycle.
import { env, launch, result, signedIn, summary } from './bench-lib.mjs';

const GAP_MS = [700, 1100, 1300, 1700]; // between samples, cycled: out of step with the page's polling

/** In the Events page: record when a row naming each awaited event appears. */
function watchRows() {
  const seen = (window.__rows = {});
  new MutationObserver(() => {
    for (const row of document.querySelectorAll('tbody tr')) {
      const m = /bench-tail-\d+-\d+/.exec(row.textContent || '');
      if (m && seen[m[0]] === undefined) seen[m[0]] = Date.now();
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

const browser = await launch();
try {
  const context = await signedIn(browser);
  const page = await context.newPage();
  await page.addInitScript(watchRows);
  await page.goto(`${env.origin}/p/${env.project}/events`);
  await page.locator('tbody tr').first().waitFor({ timeout: 60000 });
  await page.getByRole('button', { name: /Live tail off/ }).click();
  await page.getByRole('button', { name: /Live tail on/ }).waitFor();

  const visibility = await page.evaluate(() => document.visibilityState);
  const ingest = `${env.origin}/v1/events?project=${env.project}&session=bench-tail-${process.pid}&anon=bench-tail`;
  const ackToRow = [];
  const sendToRow = [];
  for (let seq = 1; seq <= env.runs; seq++) {
    const name = `bench-tail-${process.pid}-${seq}`;
    const sent = Date.now();
    const r = await fetch(ingest, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([{ type: 'event', event: name, props: { sample: seq }, ts: sent }]),
    });
    const ack = Date.now();
    const body = await r.text();
    if (!r.ok || !/"accepted":1/.test(body)) throw new Error(`relay: ${r.status} ${body}`);
    const shown = await page.waitForFunction((name) => window.__rows[name], name, { timeout: 30000 });
    const row = await shown.jsonValue();
    ackToRow.push(row - ack);
    sendToRow.push(row - sent);
    console.error(`tail ${seq}/${env.runs}: send → ack ${ack - sent} ms, ack → row ${row - ack} ms`);
    await page.waitForTimeout(GAP_MS[seq % GAP_MS.length]);
  }
  result({ visibility, ackToRow: summary(ackToRow), sendToRow: summary(sendToRow) });
} finally {
  await browser.close();
}
