#!/usr/bin/env node
// `npm run build`: compiles @genjobs/sdk (sdk/), then the server, CLI and tests into dist/,
// marks the CLI executable, and builds the web dashboard (dashboard/dist). tsc writes new files
// without the execute bit, so without the chmod `npx genjobs` (a link to dist/src/cli/main.js)
// fails with "Permission denied" after any rebuild. test/cli/bin.test.ts checks the bit after the build `npm test` runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(import.meta.dirname, '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = (...args) => execFileSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });

fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
// sdk/dist is emptied, not removed: npm takes a change of the workspace folder's own entries
// (sdk/dist appearing) for an outdated install, and `npx genjobs` would then reinstall and rebuild.
const sdkDist = path.join(root, 'sdk', 'dist');
fs.mkdirSync(sdkDist, { recursive: true });
for (const entry of fs.readdirSync(sdkDist)) fs.rmSync(path.join(sdkDist, entry), { recursive: true, force: true });
run('-p', 'sdk/tsconfig.json');
run('-p', 'tsconfig.json');
fs.chmodSync(path.join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);
// The web dashboard (dashboard/): type-checked, then bundled by Vite into dashboard/dist, which the server serves at /.
execFileSync('npm', ['run', 'build', '--workspace', '@genjobs/dashboard'], { cwd: root, stdio: 'inherit' });
