import type { Identity } from './protocol';

/** The query string both endpoints take: `?project=ID&session=ID&anon=ID`. */
export function query(project: string, i: Identity): string {
  const e = encodeURIComponent;
  return '?project=' + e(project) + '&session=' + e(i.s) + '&anon=' + e(i.a);
}
