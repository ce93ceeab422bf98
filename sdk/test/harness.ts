// Shared set-up for the main-thread tests (happy-dom, fake-indexeddb, the fake relay): each test
// gets a clean page, storage and relay, and every SDK it starts is shut down after it.
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { createBeacon, type Beacon, type BeaconOptions } from '../src/index';

let n = 0;
let running: Beacon[] = [];
/** Bodies handed to navigator.sendBeacon in this test. */
export let beacons: { url: string; body: any[] }[] = [];
/** The project id of the last SDK made (a new one per test). */
export let project = '';

/** The navigator the SDK sees: sendBeacon recorded, plus `extra` (e.g. doNotTrack). */
export function stubNavigator(extra: Record<string, unknown> = {}) {
  vi.stubGlobal('navigator', {
    sendBeacon: (url: string, body: string) => beacons.push({ url, body: JSON.parse(body) }) > 0,
    ...extra,
  });
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal('WebSocket', FakeWebSocket);
  localStorage.clear();
  sessionStorage.clear();
  history.replaceState(null, '', '/start');
  document.title = 'Start page';
  beacons = [];
  running = [];
  project = 'h' + ++n;
  stubNavigator();
});
afterEach(async () => {
  FakeWebSocket.all.forEach((ws) => ws.readyState == 1 && ws.receive({ type: 'ack', seq: 1e9 }));
  await Promise.all(running.map((b) => b.shutdown(10)));
});

/** An SDK on the main thread for this test's project (the same project on every call). */
export function make(over: Partial<BeaconOptions> = {}): Beacon {
  const b = createBeacon({ host: 'http://relay.test', project, worker: false, ...over });
  running.push(b);
  return b;
}

/** make(), then wait for its connection and open it. */
export async function start(over: Partial<BeaconOptions> = {}) {
  const before = FakeWebSocket.all.length;
  const b = make(over);
  await vi.waitFor(() => expect(FakeWebSocket.all.length).toBeGreaterThan(before));
  const ws = FakeWebSocket.last;
  ws.open();
  return { b, ws };
}

/** Let posted messages (main thread ↔ core, both promise-based here) go through. */
export const settle = () => new Promise((r) => setTimeout(r, 20));

/** The SDK's keys in localStorage and sessionStorage. */
export function storedKeys(): string[] {
  const keys: string[] = [];
  for (const s of [localStorage, sessionStorage]) for (let i = 0; i < s.length; i++) keys.push(s.key(i)!);
  return keys.filter((k) => k.startsWith('beacon:')).sort();
}

/** Names of this test's project's IndexedDB databases that exist. */
export async function databases(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name!).filter((d) => d == 'beacon:' + project);
}
