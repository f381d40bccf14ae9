#!/usr/bin/env node
// Upload memory: how much a genjobs server's resident memory grows while a worker uploads one
// large output file, against the file's size. The server (createApp + listen, SQLite) runs in a
// child process; this process creates an account, a worker and a claimed job through the admin
// and worker APIs, streams UPLOAD_MIB of random bytes to POST /worker/v1/jobs/:id/files in 64 KiB
// chunks, and reads the child's VmRSS from /proc every 20 ms. The baseline is the child's RSS
// just before the upload, in the same run; the figure is peak growth / upload size (a server
// that gathers the whole body first shows about 1.0 or more; streaming stays near 0).
//
//   npm run bench:upload     BENCH_UPLOAD_MIB=512 (default 256)
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(import.meta.dirname, '..');
const UPLOAD_MIB = Number(process.env.BENCH_UPLOAD_MIB ?? 256);
const ADMIN = 'bench-admin-token-0123456789';

if (process.argv[2] === '--serve') {
  const { createApp } = await import(path.join(ROOT, 'dist/src/app.js'));
  const { loadConfig } = await import(path.join(ROOT, 'dist/src/config/config.js'));
  const { default: pino } = await import('pino');
  const dataDir = process.env.DATA_DIR;
  const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, 'catalog/models.json'), 'utf8'));
  catalog.models.push({ id: 'gpu/bench', name: 'bench', modality: 'image', cost: 1, outputType: 'image', provider: { type: 'worker' } });
  fs.writeFileSync(path.join(dataDir, 'catalog.json'), JSON.stringify(catalog));
  const app = await createApp(loadConfig({ DATA_DIR: dataDir, GENJOBS_ADMIN_TOKEN: ADMIN, GENJOBS_CATALOG: path.join(dataDir, 'catalog.json'), LOG_LEVEL: 'silent', GENJOBS_EXECUTOR: 'false' }), { logger: pino({ level: 'silent' }) });
  const url = await app.listen();
  process.send({ url });
  process.on('disconnect', () => app.close().then(() => process.exit(0)));
} else {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-bench-upload-'));
  const child = fork(import.meta.filename, ['--serve'], { env: { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' } });
  try {
    const { url } = await new Promise((resolve) => child.once('message', resolve));
    const base = url.replace('0.0.0.0', '127.0.0.1');
    const call = async (method, p, token, body) => {
      const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
      return res.json();
    };
    const user = await call('POST', '/admin/v1/users', ADMIN, { credits: 10 });
    const { key } = await call('POST', `/admin/v1/users/${user.id}/keys`, ADMIN, {});
    const { token } = await call('POST', '/admin/v1/workers', ADMIN, { models: ['gpu/bench'] });
    await call('POST', '/api/v1/models/run', key, { model: 'gpu/bench', input: {} });
    const { job } = await call('POST', '/worker/v1/jobs/claim', token, {});

    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024;
    await sleep(500);
    const baseline = rss();
    let peak = baseline;
    const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
    const chunk = randomBytes(64 * 1024);
    const chunks = (UPLOAD_MIB * 1024 * 1024) / chunk.length;
    const body = Readable.from((function* () { for (let i = 0; i < chunks; i++) yield chunk; })());
    const started = performance.now();
    const res = await fetch(`${base}/worker/v1/jobs/${job.id}/files?lease_token=${job.lease_token}&name=big.bin`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(UPLOAD_MIB * 1024 * 1024) },
      body, duplex: 'half',
    });
    const answer = await res.json();
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, rss());
    const mib = (b) => (b / 1024 / 1024).toFixed(1);
    console.log(`upload of ${UPLOAD_MIB} MiB: ${res.status} ${answer.url ? 'stored' : JSON.stringify(answer)} in ${seconds.toFixed(1)} s`);
    console.log(`server RSS: baseline ${mib(baseline)} MiB, peak ${mib(peak)} MiB, growth ${mib(peak - baseline)} MiB`);
    console.log(`peak growth / upload size: ${((peak - baseline) / (UPLOAD_MIB * 1024 * 1024)).toFixed(3)}`);
  } finally {
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
