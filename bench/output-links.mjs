#!/usr/bin/env node
// Output links at read time: what rendering a job's stored output costs a read, in-process.
// Each case presents a finished job the way GET /api/v1/jobs/:id does (withLinks, then
// presentJobText), on a fresh record per read (as a read from the store gives), and is measured
// in alternating rounds against the baseline: the same job shape presented without any render
// step (how reads worked before references). Reported as the median ratio of the rounds' ns/read.
//
//   npm run bench:output-links         BENCH_QUICK=1 for short rounds
//   BENCH_LINKS_ROUNDS=7, BENCH_LINKS_READS=20000   rounds, and reads per side of a round
import { QUICK, dist, runBench, saveResults } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_LINKS_ROUNDS ?? (QUICK ? 3 : 7));
const READS = Number(process.env.BENCH_LINKS_READS ?? (QUICK ? 2_000 : 20_000));

await runBench('bench:output-links', 300_000, async () => {
  const { withLinks } = await dist('src/jobs/links.js');
  const { presentJobText } = await dist('src/jobs/present.js');

  const SHA = 'ab'.repeat(32);
  const job = (outputData) => ({
    id: '0193aa00-0000-7000-8000-000000000001', userId: 'u', runType: 'model', modelId: 'local/image', appId: null, status: 'completed',
    inputData: { input: { prompt: 'a lighthouse at dusk', aspect_ratio: '1:1' } }, outputData, errorMessage: null, creditsCharged: 10,
    creditsRefunded: 0, createdAt: 1, startedAt: 2, completedAt: 3, cancelledAt: null, webhookUrl: null, webhookDelivered: false,
    progress: 1, retryOf: null, cancelAfterAt: null, leaseOwner: null, leaseExpiresAt: null, leaseToken: 1, attempts: 1,
  });
  const file = (n) => ({ $file: { key: `0193aa00-0000-7000-8000-000000000001/k${n}Xq9aZ.png`, size: 48213, contentType: 'image/png', sha256: SHA } });
  const served = { link: (f) => `https://api.example.com/files/${f.key}`, stable: true };
  // A presigned link is made afresh at each read: nothing kept between reads (the signing itself is not measured).
  const fresh = { link: async (f) => `https://bucket.example.com/${f.key}?X-Amz-Signature=${f.key.length}`, stable: false };

  const cases = [
    { name: 'text output (no file)', output: () => ({ outputText: 'A quiet harbour under a pale sky.' }), links: served },
    { name: 'one file, served links', output: () => ({ outputImage: file(1) }), links: served },
    // GET of a finished job: the read cache gives the same record each time, so its render is kept.
    { name: 'one file, served links, cached record', output: () => ({ outputImage: file(1) }), links: served, same: true },
    { name: 'one file, fresh links each read', output: () => ({ outputImage: file(1) }), links: fresh },
    { name: 'app, 4 nodes with files, fresh links', output: () => ({ app_id: 'a', app_name: 'A', node_outputs: Object.fromEntries([1, 2, 3, 4].map((n) => [`n${n}`, { outputImage: file(n) }])) }), links: fresh },
  ];
  // The baseline's output: the public shape the old rows held (a URL string), presented directly.
  const urlsOf = (output) => JSON.parse(JSON.stringify(output, (k, v) => (v && typeof v === 'object' && v.$file ? `https://api.example.com/files/${v.$file.key}` : v)));

  const time = async (fn) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < READS; i++) await fn();
    return Number(process.hrtime.bigint() - started) / READS;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

  console.log(`# ${ROUNDS} rounds of ${READS} reads per side; ratio = the case's ns/read / the baseline's in the same round`);
  const results = [];
  for (const c of cases) {
    const stored = c.output();
    const plain = urlsOf(stored);
    const ratios = [];
    const ns = [];
    const base = [];
    const sameStored = job(stored);
    const samePlain = job(plain);
    for (let r = 0; r < ROUNDS + 1; r++) {
      // Each read gets a fresh record, as one read from the store would, unless the case reads one cached record.
      const b = await time(async () => presentJobText(c.same ? samePlain : job(plain)));
      const x = await time(async () => presentJobText(await withLinks(c.same ? sameStored : job(stored), c.links)));
      if (r === 0) continue; // warm-up
      base.push(b);
      ns.push(x);
      ratios.push(x / b);
    }
    const row = { case: c.name, nsPerRead: Math.round(median(ns)), baselineNs: Math.round(median(base)), ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
    results.push(row);
    console.log(`  ${row.case.padEnd(40)} ${String(row.nsPerRead).padStart(7)} ns/read  baseline ${String(row.baselineNs).padStart(7)} ns  ratio ${row.ratio.toFixed(2)} (${row.min.toFixed(2)}-${row.max.toFixed(2)})`);
  }
  saveResults('output-links', { rounds: ROUNDS, reads: READS, results });
});
