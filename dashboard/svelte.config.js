import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // Built into build/app (gitignored); build/placeholder/index.html is committed so that
    // `go build` works on a fresh clone (dashboard.go serves whichever exists).
    adapter: adapter({ pages: 'build/app', assets: 'build/app', fallback: 'index.html', strict: true }),
    // SvelteKit starts the app from an inline <script>. The relay's CSP has no 'unsafe-inline':
    // dashboard.go hashes the inline scripts of the built index.html (and the templates' static
    // style attributes) and allows exactly those. Kit's hash mode puts the same script hash in a
    // <meta> policy, a second lock on the page; styles are left to the relay's header, which
    // knows the style hashes kit does not compute.
    csp: { mode: 'hash', directives: { 'script-src': ['self'], 'object-src': ['none'], 'base-uri': ['self'] } },
    output: { preloadStrategy: 'modulepreload' },
    version: { pollInterval: 0 },
  },
};
