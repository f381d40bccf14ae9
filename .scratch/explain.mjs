import { startPgCluster } from '/work/wt/fair/dist/test/helpers/pg-cluster.js';
import { PgStore } from '/work/wt/fair/dist/src/store/postgres/pg-store.js';
import { newId } from '/work/wt/fair/dist/src/ids.js';
import pg from 'pg';
const cluster = await startPgCluster();
try {
  const store = await PgStore.open({ url: cluster.url, schema: 'x', poolSize: 4 });
  const u = await store.userCreate({ name: null, credits: 0, now: Date.now() });
  const ps = [];
  for (let i = 0; i < 2000; i++) ps.push(store.jobCreateCharged({ id: newId(), userId: u.id, runType: 'model', modelId: 'local/test', appId: null, inputData: {}, webhookUrl: null, cost: 0, now: Date.now() }));
  await Promise.all(ps);
  const c = new pg.Client({ connectionString: cluster.url, options: '-c search_path=x' });
  await c.connect();
  const FIFO = `UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = $1, lease_token = lease_token + 1,
               lease_expires_at = $2, started_at = COALESCE(started_at, GREATEST($3, created_at))
             WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id`;
  for (let k = 0; k < 30; k++) {
    const t = performance.now();
    const r = await c.query(FIFO, ['f', Date.now() + 60000, Date.now(), 16]);
    if (k % 5 === 0) console.log('fifo', k, r.rowCount, (performance.now() - t).toFixed(2), 'ms');
  }
  for (let k = 0; k < 30; k++) {
    const t = performance.now();
    const r = await c.query("SELECT id FROM genjobs_fair_claim('o', $1, $2, 3, '{}', NULL, 16, NULL, NULL)", [Date.now() + 60000, Date.now()]);
    if (k % 5 === 0) console.log('fair', k, r.rowCount, (performance.now() - t).toFixed(2), 'ms');
  }
  await c.end();
  await store.close();
} finally {
  await cluster.destroy();
}
