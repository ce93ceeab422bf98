// Benchmark: the events page's live tail, commit → row on screen (issue 12: ≤ 2 s), against the
// real relay and a benchmark database. Run by the Go harness (bench/dashbrowser.go) with the
// settings of bench-lib.mjs.
//
// The Events page is open with the live tail on. Each sample sends one event with a unique name
// through the relay's WebSocket (docs/protocol.md: an event with a seq; the relay answers
// {"type":"ack","seq":N} after the COPY that holds it committed), from a second page of the same
// browser, and takes the ack's time; a MutationObserver in the Events page takes the time its row
// appears. Both are wall-clock times of one machine (Date.now() in two pages of one browser).
// The ack comes a little after the commit, so ack → row slightly understates commit → row; the
// send → row time is reported beside it as the upper bound.
import { env, launch, result, signedIn, summary } from './bench-lib.mjs';

const GAP_MS = 1300; // between samples: not in step with the page's 1 s polling

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

  // The sender: a page on the relay's origin (allowed by the bench project) holding a WebSocket.
  const sender = await context.newPage();
  await sender.goto(`${env.origin}/readyz`);
  const wsURL = `${env.origin.replace(/^http/, 'ws')}/ws?project=${env.project}&session=bench-tail-${process.pid}&anon=bench-tail`;
  await sender.evaluate(async (u) => {
    const ws = (window.__ws = new WebSocket(u));
    window.__acks = {};
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'ack') window.__acks[msg.seq] = Date.now();
      if (msg.type === 'error') window.__wsError = m.data;
    };
    await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = () => fail(new Error('WebSocket failed')))));
  }, wsURL);

  const ackToRow = [];
  const sendToRow = [];
  for (let seq = 1; seq <= env.runs; seq++) {
    const name = `bench-tail-${process.pid}-${seq}`;
    const sent = await sender.evaluate(
      ({ name, seq }) => {
        const t = Date.now();
        window.__ws.send(JSON.stringify({ type: 'event', event: name, props: { sample: seq }, ts: t, seq }));
        return t;
      },
      { name, seq },
    );
    const acked = await sender.waitForFunction((seq) => window.__acks[seq] ?? (window.__wsError ? -1 : undefined), seq, { timeout: 30000 });
    const ack = await acked.jsonValue();
    if (ack < 0) throw new Error(`relay: ${await sender.evaluate(() => window.__wsError)}`);
    const shown = await page.waitForFunction((name) => window.__rows[name], name, { timeout: 30000 });
    const row = await shown.jsonValue();
    ackToRow.push(row - ack);
    sendToRow.push(row - sent);
    console.error(`tail ${seq}/${env.runs}: send → ack ${ack - sent} ms, ack → row ${row - ack} ms`);
    await page.waitForTimeout(GAP_MS);
  }
  result({ ackToRow: summary(ackToRow), sendToRow: summary(sendToRow) });
} finally {
  await browser.close();
}
