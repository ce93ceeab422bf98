import { readAudit } from '$lib/api';
import { apiFilters, readQuery } from '$lib/components/audit/audit';

/** A page of the whole audit (admin accounts) by the URL's filters. */
export async function load({ url, fetch }) {
  const query = readQuery(url.searchParams);
  const result = readAudit(null, apiFilters(query), query.before, fetch);
  result.catch(() => {}); // handled by the page
  return { query, result };
}
