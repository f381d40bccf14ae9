#!/usr/bin/env node
// Runs the compiled test suite with node's own test runner (TAP, so the closing `# pass N` /
// `# fail N` lines are printed) and fails when it finds no test files at all.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', 'dist', 'test');
const files = fs.readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => path.join(root, f))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files under dist/test; did the build run?');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
