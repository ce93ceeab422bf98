// The app's sections and safe redirects after sign-in.

/** The sections of a project, in the order the navigation shows them ('' is the overview). */
export const SECTIONS = [
  { path: '', label: 'Overview' },
  { path: 'events', label: 'Events' },
  { path: 'people', label: 'People' },
  { path: 'flags', label: 'Flags' },
  { path: 'live', label: 'Live' },
  { path: 'settings', label: 'Settings' },
] as const;

/**
 * Where to go after signing in: the `next` path when it is a path on this site, else '/'. A full
 * URL or a protocol-relative `//host` would turn the sign-in page into an open redirect.
 */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

/** The URL of a section of a project. */
export function sectionHref(project: string, section: string): string {
  return `/p/${encodeURIComponent(project)}${section ? '/' + section : ''}`;
}

/** Which section a pathname is in ('' for the overview), or null outside a project; a page inside a section (a person) is in it. */
export function sectionOf(pathname: string): string | null {
  const m = /^\/p\/[^/]+(?:\/([^/]+)(?:\/.*)?)?\/?$/.exec(pathname);
  return m ? (m[1] ?? '') : null;
}
