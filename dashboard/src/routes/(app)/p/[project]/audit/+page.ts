import { listMembers, readAudit } from '$lib/api';
import { apiFilters, readQuery } from '$lib/components/audit/audit';

/** A page of the project's audit (owners) by the URL's filters, and its members for the actor filter. */
export async function load({ url, params, fetch }) {
  const query = readQuery(url.searchParams);
  const result = readAudit(params.project, apiFilters(query), query.before, fetch);
  result.catch(() => {}); // handled by the page
  const members = await listMembers(params.project, fetch).then((m) => m.members, () => []);
  return { query, result, members };
}
