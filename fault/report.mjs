// Prints the fault suite's report: the runs, each fault with its recovery time, the zeros, the
// books of every account and the webhook figures. The same report goes to --json as data.

const s = (ms) => (ms === null || ms === undefined ? 'NEVER' : `${(ms / 1000).toFixed(1)} s`);

function faultDetail(f) {
  switch (f.kind) {
    case 'kill -9 executor':
      return `restarted after ${s(f.restartedMs)}; the ${f.heldJobs} jobs it held finished after ${s(f.heldFinishedMs)}; next job finished after ${s(f.nextJobFinishedMs)}`;
    case 'kill -9 API process':
      return `restarted ${s(f.restartDelayMs)} later; /readyz 200 after ${s(f.readyMs)}`;
    case 'database restart':
      return `down ${s(f.downMs)}; after it came back: both APIs ready in ${s(f.apisReadyMs)}, a job finished in ${s(f.nextJobFinishedMs)}`;
    case 'webhook receiver down':
      return `down ${s(f.windowMs)}, ${f.owedWhenBack} deliveries owed; first delivery ${s(f.firstDeliveryMs)} after, all owed ${s(f.backlogDeliveredMs)} after`;
    default:
      return `for ${s(f.windowMs)} (${f.calls} calls); a job of the model completed ${s(f.recoveredMs)} after`;
  }
}

export function printReport(report) {
  const out = [];
  const line = (x = '') => out.push(x);
  line(`## fault suite report (${report.form} form, seed ${report.seed})`);
  line();
  line(`machine: ${report.machine.cores} cores, load average at start ${report.machine.loadAverage.map((x) => x.toFixed(1)).join(' ')}; `
    + `took ${report.durationS} s (load ${report.loadS} s)`);
  const r = report.runs;
  line(`runs: ${r.sent} sent, ${r.accepted} accepted (${r.byKind.model} local/test, ${r.byKind.deadline} local/test past a Cancel-After deadline, ${r.byKind.provider} fake provider, ${r.byKind.app} app), `
    + `${r.withWebhook} with a webhook, ${r.cancelled} cancelled by the client; ${r.retried} needed a retry (${r.replayed} answered as an idempotent replay), `
    + `${r.refused} refused, ${r.gaveUp} given up`);
  line(`jobs in the store: ${report.jobs.inStore}; by status: ${Object.entries(report.jobs.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}; `
    + `by claims: ${Object.entries(report.jobs.byAttempts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  line(`fake provider calls: ${Object.entries(report.provider).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  line();
  line('| at | fault | target | recovered in | detail |');
  line('|---|---|---|---|---|');
  for (const f of report.faults) line(`| ${f.atS} s | ${f.kind} | ${f.target} | ${s(f.recoveredMs)} | ${faultDetail(f)} |`);
  line();
  line(`recovery window: everything finished ${s(report.drainMs)} after the last run was answered (limit ${s(report.recoveryWindowMs)})`);
  line();
  line('| must be zero | count |');
  line('|---|---|');
  for (const [k, v] of Object.entries(report.zeros)) line(`| ${k} | ${v}${v === 0 ? '' : ' ← FAIL'} |`);
  line();
  line('| account | grants | charges | refunds | balance | grants - charges + refunds |');
  line('|---|---|---|---|---|---|');
  for (const b of report.books) line(`| ${b.account} | ${b.grants} | ${b.charges} | ${b.refunds} | ${b.balance} | ${b.grants - b.charges + b.refunds} |`);
  line();
  const w = report.webhooks;
  line(`webhooks: ${w.owed} finished jobs owed one; ${w.deliveries} deliveries received for ${w.distinctJobs} jobs (${w.duplicates} duplicates); `
    + `outbox: ${w.outbox.map((o) => `${o.status} ${o.n} (most attempts ${o.max_attempts})`).join(', ')}`);
  for (const [k, ids] of Object.entries(report.examples)) if (ids.length > 0) line(`${k}: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`);
  console.log(out.join('\n'));
}
