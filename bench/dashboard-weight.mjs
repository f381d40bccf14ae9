#!/usr/bin/env node
// The page weight of the built dashboard: every file a first visit downloads (the HTML page, its
// scripts, styles and icon), raw and gzip-compressed (what a browser receives from a server or
// proxy that compresses). `npm run bench:dashboard` builds, then prints the table; the budget
// below is checked by test/dashboard/server.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** The most a first visit may download, gzip-compressed, in bytes. */
export const BUDGET_GZIP_BYTES = 40 * 1024;

export const distDir = path.resolve(import.meta.dirname, '..', 'dashboard', 'dist');

/** Every file of the build with its raw and gzip sizes, and the totals. */
export function measure(dir = distDir) {
  const files = fs.readdirSync(dir, { recursive: true }).map(String)
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => {
      const bytes = fs.readFileSync(path.join(dir, f));
      return { file: f, raw: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length };
    });
  return {
    files,
    raw: files.reduce((n, f) => n + f.raw, 0),
    gzip: files.reduce((n, f) => n + f.gzip, 0),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = measure();
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const f of m.files) console.log(`${f.file.padEnd(36)} ${kb(f.raw).padStart(10)} ${kb(f.gzip).padStart(10)} gzip`);
  console.log(`${'total'.padEnd(36)} ${kb(m.raw).padStart(10)} ${kb(m.gzip).padStart(10)} gzip (budget ${kb(BUDGET_GZIP_BYTES)}: ${(m.gzip / BUDGET_GZIP_BYTES * 100).toFixed(0)} % of it)`);
}
