import { flagHistory, listFlags, type FlagChange } from '$lib/api';

/**
 * The project's flags and, when the URL names one (?flag=KEY), its history. Errors are returned,
 * not thrown, so the page keeps its frame and says what went wrong. The page re-runs this every
 * few seconds (invalidate 'app:flags') for the clients-on counts.
 */
export async function load({ url, params, fetch, depends }) {
  depends('app:flags');
  const selected = url.searchParams.get('flag');
  try {
    const [list, history] = await Promise.all([
      listFlags(params.project, fetch),
      selected ? flagHistory(params.project, selected, fetch).catch(() => [] as FlagChange[]) : Promise.resolve(null),
    ]);
    return { ...list, selected, history, failure: null };
  } catch (e) {
    return { role: null, flags: [], selected, history: null, failure: e as Error };
  }
}
