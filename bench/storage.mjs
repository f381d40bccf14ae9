#!/usr/bin/env node
// Storage memory: how much a genjobs server's resident memory grows while a large output file
// streams into its file storage, on each adapter (the local folder, and S3 through s3rver), by
// the two ways files arrive from outside:
// - worker upload: a worker POSTs the file to /worker/v1/jobs/:id/files (64 KiB chunks, with
//   Content-Length), as in bench/upload.mjs;
// - provider output copy: the server copies a provider's output URL into storage (the code path
//   of src/providers/http/outputs.ts), here from a local HTTP server streaming the bytes.
// The genjobs server runs in a child process, s3rver in another (its memory is not counted).
// The child's VmRSS is read from /proc every 20 ms; the baseline is its RSS just before each
// transfer, in the same run; the figure is peak growth / file size (a server that buffers whole
// files shows 1.0 or more; streaming stays near 0). With several sizes, bounded memory shows as
// the same growth for each (each size runs on a fresh server).
//
//   npm run bench:storage     BENCH_STORAGE_MIB=100,500 (default), BENCH_STORAGE_ADAPTERS=local,s3
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_STORAGE_MIB ?? '100,500').split(',').map(Number);
/** The size of this run's files: the child processes are given theirs. */
const CHILD_BYTES = Number(process.env.BENCH_STORAGE_BYTES ?? 0);
const ADAPTERS = (process.env.BENCH_STORAGE_ADAPTERS ?? 'local,s3').split(',');
const ADMIN = 'bench-admin-token-0123456789';
const BUCKET = 'genjobs-bench';
const CHUNK = randomBytes(64 * 1024);

/** `bytes` of the same random chunk, as a stream. */
const body = (bytes) => Readable.from((function* () { for (let i = 0; i < bytes / CHUNK.length; i++) yield CHUNK; })());

if (process.argv[2] === '--s3rver') {
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.env.S3_DIR, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const { port } = await server.run();
  process.send({ endpoint: `http://127.0.0.1:${port}` });
  process.on('disconnect', () => server.close().then(() => process.exit(0)));
} else if (process.argv[2] === '--serve') {
  const { createApp } = await import(path.join(ROOT, 'dist/src/app.js'));
  const { loadConfig } = await import(path.join(ROOT, 'dist/src/config/config.js'));
  const { createFileStorage } = await import(path.join(ROOT, 'dist/src/files/create.js'));
  const { copyOutput } = await import(path.join(ROOT, 'dist/src/providers/http/outputs.js'));
  const { default: pino } = await import('pino');
  const dataDir = process.env.DATA_DIR;
  const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, 'catalog/models.json'), 'utf8'));
  catalog.models.push({ id: 'gpu/bench', name: 'bench', modality: 'image', cost: 1, outputType: 'image', provider: { type: 'worker' } });
  fs.writeFileSync(path.join(dataDir, 'catalog.json'), JSON.stringify(catalog));
  const config = loadConfig({ ...process.env, GENJOBS_ADMIN_TOKEN: ADMIN, GENJOBS_CATALOG: path.join(dataDir, 'catalog.json'), LOG_LEVEL: 'silent', GENJOBS_EXECUTOR: 'false', GENJOBS_WORKER_UPLOAD_LIMIT: String(2 * CHILD_BYTES) });
  const app = await createApp(config, { logger: pino({ level: 'silent' }) });
  const url = await app.listen();
  // The copy path as a provider takes it: a FileStorage of this configuration.
  const files = await createFileStorage(config);
  process.on('message', async ({ copy }) => {
    try {
      const stored = await copyOutput({ url: copy, jobId: 'bench-copy', files, signal: new AbortController().signal, timeoutMs: 600_000, allowPrivate: true });
      process.send({ copied: typeof stored === 'string' ? stored : JSON.stringify(stored) });
    } catch (err) {
      process.send({ copied: null, error: err.message });
    }
  });
  process.send({ url });
  process.on('disconnect', () => app.close().then(() => process.exit(0)));
} else {
  // The provider's storage: /<bytes> streams that many bytes as a video.
  const upstream = http.createServer((req, res) => {
    const bytes = Number(req.url.slice(1));
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(bytes) });
    body(bytes).pipe(res);
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = (bytes) => `http://127.0.0.1:${upstream.address().port}/${bytes}`;
  const mib = (b) => (b / 1024 / 1024).toFixed(1);
  const rows = [];
  try {
    for (const adapter of ADAPTERS) for (const mibs of SIZES) {
      const BYTES = mibs * 1024 * 1024;
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-storage-'));
      const env = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', BENCH_STORAGE_BYTES: String(BYTES) };
      let s3 = null;
      if (adapter === 's3') {
        const s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-s3-'));
        const child = fork(import.meta.filename, ['--s3rver'], { env: { ...process.env, S3_DIR: s3Dir } });
        const { endpoint } = await new Promise((resolve) => child.once('message', resolve));
        s3 = { child, dir: s3Dir };
        Object.assign(env, {
          GENJOBS_STORAGE: 's3', GENJOBS_S3_BUCKET: BUCKET, GENJOBS_S3_ENDPOINT: endpoint, GENJOBS_S3_FORCE_PATH_STYLE: 'true',
          AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
        });
      }
      const server = fork(import.meta.filename, ['--serve'], { env, execArgv: ['--no-warnings'] });
      try {
        const { url } = await new Promise((resolve) => server.once('message', resolve));
        const base = url.replace('0.0.0.0', '127.0.0.1');
        const call = async (method, p, token, json) => {
          const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: json && JSON.stringify(json) });
          return res.json();
        };
        const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) * 1024;
        /** Runs `transfer` while sampling the server's RSS; the baseline is taken just before. */
        const measure = async (what, transfer) => {
          await sleep(500);
          const baseline = rss();
          let peak = baseline;
          const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
          const started = performance.now();
          const outcome = await transfer();
          const seconds = (performance.now() - started) / 1000;
          clearInterval(sampler);
          peak = Math.max(peak, rss());
          rows.push({ adapter, what, mibs, outcome, baseline, growth: peak - baseline, bytes: BYTES, seconds });
          console.log(`${adapter} ${what} of ${mibs} MiB: ${outcome}; RSS before ${mib(baseline)} MiB, peak growth ${mib(peak - baseline)} MiB, growth / size ${((peak - baseline) / BYTES).toFixed(3)}, ${seconds.toFixed(1)} s`);
        };

        const user = await call('POST', '/admin/v1/users', ADMIN, { credits: 10 });
        const { key } = await call('POST', `/admin/v1/users/${user.id}/keys`, ADMIN, {});
        const { token } = await call('POST', '/admin/v1/workers', ADMIN, { models: ['gpu/bench'] });
        await call('POST', '/api/v1/models/run', key, { model: 'gpu/bench', input: {} });
        const { job } = await call('POST', '/worker/v1/jobs/claim', token, {});
        await measure('worker upload', async () => {
          const res = await fetch(`${base}/worker/v1/jobs/${job.id}/files?lease_token=${job.lease_token}&name=big.mp4`, {
            method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(BYTES) },
            body: body(BYTES), duplex: 'half',
          });
          const answer = await res.json();
          return `${res.status} ${answer.url ? 'stored' : JSON.stringify(answer)}`;
        });
        await measure('provider output copy', async () => {
          server.send({ copy: upstreamUrl(BYTES) });
          const { copied, error } = await new Promise((resolve) => server.once('message', resolve));
          return copied ? 'stored' : `failed: ${error}`;
        });
      } finally {
        server.disconnect();
        await new Promise((resolve) => server.once('exit', resolve));
        if (s3) {
          s3.child.disconnect();
          await new Promise((resolve) => s3.child.once('exit', resolve));
          fs.rmSync(s3.dir, { recursive: true, force: true });
        }
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    upstream.close();
  }
  console.log('\n| adapter | transfer | size | outcome | RSS before | peak growth | growth / size | time |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.adapter} | ${r.what} | ${r.mibs} MiB | ${r.outcome} | ${mib(r.baseline)} MiB | ${mib(r.growth)} MiB | ${(r.growth / r.bytes).toFixed(3)} | ${r.seconds.toFixed(1)} s |`);
}
