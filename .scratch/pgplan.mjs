import { startPgCluster } from '/work/wt/harden-input/dist/test/helpers/pg-cluster.js';
import { PgStore } from '/work/wt/harden-input/dist/src/store/postgres/pg-store.js';
const cluster = await startPgCluster();
try {
  const s = await PgStore.open({ url: cluster.url, schema: 'plan', poolSize: 2 });
  const u = await s.userCreate({ name: null, credits: 1_000_000_000, now: 1 });
  await s.pool.query(`INSERT INTO jobs (id, user_id, run_type, model_id, status, input_data, credits_charged, created_at)
    SELECT 'j' || g, $1, 'model', 'm', 'completed', '{}', 1, g FROM generate_series(1, 300000) g`, [u.id]);
  await s.pool.query(`INSERT INTO jobs (id, user_id, run_type, model_id, status, input_data, credits_charged, created_at)
    SELECT 'p' || g, $1, 'model', 'm', 'pending', '{}', 1, g FROM generate_series(1, 10) g`, [u.id]);
  await s.pool.query('ANALYZE jobs');
  const q = `SELECT (SELECT COALESCE(SUM(credits_charged - credits_refunded), 0) FROM jobs WHERE status = 'pending' AND user_id = $1)
    + (SELECT COALESCE(SUM(credits_charged - credits_refunded), 0) FROM jobs WHERE status = 'processing' AND user_id = $1) AS held`;
  console.log((await s.pool.query('EXPLAIN ANALYZE ' + q, [u.id])).rows.map((r) => r['QUERY PLAN']).join('\n'));
  let t = performance.now();
  console.log(await s.userGrantCredits({ userId: u.id, amount: 5, reason: null, now: 2 }).then((r) => r.ok), 'grant ms', performance.now() - t);
  await s.close();
} finally { cluster.destroy(); }
