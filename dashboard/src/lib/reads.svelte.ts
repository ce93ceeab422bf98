// Where the dashboard's figures were read: with READ_DATABASE_URL the relay serves reads from a
// streaming replica and says so on every answer (Beacon-Read-From: replica or primary, and from a
// replica Beacon-Read-Lag, seconds behind the primary). api.ts notes each GET's headers here;
// the header (ReadSource.svelte) shows the latest. Without a replica the headers are absent and
// nothing is shown. docs/dashboard.md, "Reads from a replica".
import { formatDuration } from './format';

/** The latest read's source; from null: no replica configured (or nothing read yet). */
export const readSource = $state<{ from: 'replica' | 'primary' | null; lag: number }>({ from: null, lag: 0 });

/** Records where an answer was read, from its headers (absent: leaves the last one). */
export function noteRead(headers: Headers): void {
  const from = headers.get('Beacon-Read-From');
  if (from !== 'replica' && from !== 'primary') return;
  const lag = Number(headers.get('Beacon-Read-Lag'));
  readSource.from = from;
  readSource.lag = from === 'replica' && Number.isFinite(lag) && lag > 0 ? lag : 0;
}

/** How a read's source reads in the header, and whether it is worth a warning (over 10 s behind). */
export function describeRead(from: 'replica' | 'primary', lag: number): { text: string; title: string; behind: boolean } {
  if (from === 'primary') {
    return {
      text: 'Live data',
      title: 'Read from the primary database: the replica had not caught up with this view (your own change, a new membership, or a replica further behind than READ_MAX_LAG).',
      behind: false,
    };
  }
  const behind = lag >= 1;
  return {
    text: behind ? `Replica ${formatDuration(lag)} behind` : 'Replica, up to date',
    title: behind
      ? `Read from a read replica that is ${formatDuration(lag)} behind the primary: events of the last ${formatDuration(lag)} are not counted yet.`
      : 'Read from a read replica that has replayed everything the primary sent it.',
    behind: lag >= 10,
  };
}
