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
    // dashboard.go hashes the inline scripts of the built index.html and allows exactly those.
    // Kit's own hash mode puts the same hashes in a <meta> policy, a second lock on the page.
    csp: { mode: 'hash', directives: { 'script-src': ['self'], 'style-src': ['self'], 'object-src': ['none'], 'base-uri': ['self'] } },
    output: { preloadStrategy: 'modulepreload' },
    version: { pollInterval: 0 },
  },
};
