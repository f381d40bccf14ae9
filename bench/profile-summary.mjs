#!/usr/bin/env node
// Summarises V8 CPU profiles (node --cpu-prof; BENCH_PROFILE=1 makes the benchmarks write them
// to bench/profiles/): the top functions by self time, and self time by where the code lives
// (genjobs' own dist/src, each dependency, node internals, native/GC).
//
//   node bench/profile-summary.mjs bench/profiles/http-sqlite.cpuprofile [--top 25] [--own]
//   --own: list only functions in genjobs' own code (dist/src), plus the inclusive ("total") time of each.
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const top = Number(args[args.indexOf('--top') + 1] || 25) || 25;
const ownOnly = args.includes('--own');
const files = args.filter((a) => a.endsWith('.cpuprofile'));
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile... [--top N] [--own]');
  process.exit(2);
}

function where(url) {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.includes('/dist/src/')) return 'genjobs';
  if (url.includes('/bench/')) return 'bench driver';
  return url;
}

for (const file of files) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from the sample intervals.
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const key = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url ? `${path.relative(process.cwd(), cf.url.replace('file://', ''))}:${cf.lineNumber + 1}` : ''}`.trim();
  const fnSelf = new Map();
  const fnTotal = new Map();
  const areaSelf = new Map();
  for (const [id, t] of self) {
    const n = byId.get(id);
    const k = key(n.callFrame);
    fnSelf.set(k, (fnSelf.get(k) ?? 0) + t);
    const a = where(n.callFrame.url);
    areaSelf.set(a, (areaSelf.get(a) ?? 0) + t);
    // Inclusive time: each function once per sample stack.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = key(byId.get(cur).callFrame);
      if (seen.has(ck)) continue;
      seen.add(ck);
      fnTotal.set(ck, (fnTotal.get(ck) ?? 0) + t);
    }
  }
  const idle = [...fnSelf].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, t]) => s + t, 0);
  const busy = total - idle;
  const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  console.log(`\n# ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`);
  console.log('## self time by area');
  for (const [a, t] of [...areaSelf].filter(([a]) => a !== '(native/vm)' || true).sort((x, y) => y[1] - x[1]).slice(0, 15)) {
    if (a === '(native/vm)') {
      const parts = [...fnSelf].filter(([k]) => /^\((garbage collector|program|idle)\)/.test(k) || !k.includes(' '));
      const detail = parts.filter(([k]) => !k.startsWith('(idle)')).sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, v]) => `${k} ${pct(v).trim()}`).join(', ');
      console.log(`  ${pct(t - idle)}  native/vm (${detail})`);
    } else {
      console.log(`  ${pct(t)}  ${a}`);
    }
  }
  console.log(`## top ${top} functions by self time${ownOnly ? ' (genjobs only)' : ''}`);
  const rows = [...fnSelf].filter(([k]) => !k.startsWith('(idle)') && (!ownOnly || k.includes('dist/src/'))).sort((x, y) => y[1] - x[1]).slice(0, top);
  for (const [k, t] of rows) console.log(`  ${pct(t)} self ${pct(fnTotal.get(k) ?? 0)} total  ${k}`);
  if (ownOnly) {
    console.log(`## top ${top} genjobs functions by total (inclusive) time`);
    const inc = [...fnTotal].filter(([k]) => k.includes('dist/src/')).sort((x, y) => y[1] - x[1]).slice(0, top);
    for (const [k, t] of inc) console.log(`  ${pct(t)} total  ${k}`);
  }
}
