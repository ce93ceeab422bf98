// The app's start in the browser: the first page's API requests go out at once, beside the
// download of the page's code (src/lib/early.ts says why).
import type { ClientInit } from '@sveltejs/kit';
import { startEarly } from '$lib/early';

/** Runs once as the app starts, before the first page's load functions. */
export const init: ClientInit = () => startEarly(new URL(location.href));
