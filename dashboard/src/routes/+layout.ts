// A single-page app: the relay serves index.html for every dashboard path and the router takes
// over in the browser (no server rendering; the data comes from /api).
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';
