import type { LedgerEntry } from '../api/types.js';
import { shortId } from '../format.js';
import { Time } from './common.js';

/** Ledger entries, newest first: grants, charges (negative) and refunds. */
export function LedgerTable({ entries, linkJobs }: { entries: LedgerEntry[]; linkJobs: boolean }) {
  if (entries.length === 0) return <p class="muted">No entries yet.</p>;
  return (
    <table class="table responsive" data-testid="ledger">
      <caption class="visually-hidden">Ledger, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Amount</th><th scope="col">Balance after</th><th scope="col">Job or reason</th></tr></thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id} data-kind={e.kind}>
            <td data-label="When"><Time iso={e.created_at} /></td>
            <td data-label="Kind"><span class={`badge badge-ledger-${e.kind}`}>{e.kind}</span></td>
            <td data-label="Amount" class="num">{e.amount > 0 ? `+${e.amount}` : e.amount}</td>
            <td data-label="Balance after" class="num">{e.balance_after}</td>
            <td data-label="Job or reason">
              {e.job_id ? (linkJobs ? <a href={`/jobs/${e.job_id}`}><code>{shortId(e.job_id)}</code></a> : <code>{shortId(e.job_id)}</code>) : (e.reason ?? '—')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
