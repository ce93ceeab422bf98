// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { beacons, settle, start } from './harness';
import { TITLE_WAIT } from '../src/pageviews';

/** A router as SPAs have: push the URL now, set the title once the page has rendered. */
function navigate(path: string, title: string, after = 50) {
  history.pushState(null, '', path);
  setTimeout(() => (document.title = title), after);
}

const pageviews = (ws: { messages: any[] }) => ws.messages.filter((m) => m.event == '$pageview').map((m) => m.props);

describe('SPA pageviews and titles', () => {
  it('waits for the router to set the new title, with the URL of the navigation', async () => {
    const { ws } = await start();
    const t0 = Date.now();
    navigate('/cart', 'Cart — Shop');
    await vi.waitFor(() => expect(pageviews(ws)).toHaveLength(2), { interval: 5 });
    expect(Date.now() - t0).toBeLessThan(TITLE_WAIT); // on the title's change, not the timeout
    expect(pageviews(ws)[1]).toMatchObject({ path: '/cart', url: location.origin + '/cart', title: 'Cart — Shop' });
    navigate('/checkout', 'Checkout — Shop', 150);
    history.replaceState(null, '', '/checkout?step=2'); // the router's own URL tweak: no pageview
    await vi.waitFor(() => expect(pageviews(ws)).toHaveLength(3));
    expect(pageviews(ws)[2]).toMatchObject({ path: '/checkout', title: 'Checkout — Shop', referrer: location.origin + '/cart' });
    expect(pageviews(ws)[2].url).toBe(location.origin + '/checkout');
  });

  it('sends the pageview after the short wait when the title never changes', async () => {
    const { ws } = await start();
    const t0 = Date.now();
    history.pushState(null, '', '/same-title');
    await settle();
    expect(pageviews(ws)).toHaveLength(1);
    await vi.waitFor(() => expect(pageviews(ws)).toHaveLength(2));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(TITLE_WAIT - 5);
    expect(pageviews(ws)[1]).toMatchObject({ path: '/same-title', title: 'Start page' });
  });

  it('sends the waiting pageview first when an event is tracked meanwhile, or the page hides', async () => {
    const { b, ws } = await start();
    navigate('/product', 'Product', 5000);
    b.track('add_to_cart');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(3));
    expect(ws.messages.map((m) => m.event)).toEqual(['$pageview', '$pageview', 'add_to_cart']);
    expect(ws.messages[1].props.path).toBe('/product');
    navigate('/bye', 'Bye', 5000);
    dispatchEvent(new Event('pagehide'));
    expect(beacons.flatMap((x) => x.body).some((m) => m.event == '$pageview' && m.props.path == '/bye')).toBe(true);
  });

  it('a navigation before the title came sends the earlier pageview at once', async () => {
    const { ws } = await start();
    history.pushState(null, '', '/a');
    history.pushState(null, '', '/b');
    await settle();
    expect(pageviews(ws).map((p) => p.path)).toEqual(['/start', '/a']);
  });
});
