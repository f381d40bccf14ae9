#!/usr/bin/env node
// `npm run build`, in five steps:
// 1. the server's OpenAPI document: src/ and scripts/ are transpiled into dist/ without type
//    checks (seconds, not a full compile), and dist/scripts/openapi.js writes the document the
//    server serves at /openapi.json to sdk/src/generated/openapi.json;
// 2. openapi-typescript turns it into sdk/src/generated/openapi.ts, the types @genjobs/sdk
//    is written against (sdk/src/types.ts), so the SDK cannot drift from the server's schemas;
// 3. the SDK compiles into sdk/dist (a schema change that breaks it fails here);
// 4. the whole project (server, CLI, tests) compiles into dist/ with every check, and the CLI
//    is marked executable: tsc writes new files without the execute bit, so `npx genjobs` (a
//    link to dist/src/cli/main.js) would fail with "Permission denied" after any rebuild;
// 5. the web dashboard (dashboard/, which uses the SDK): type-checked, then bundled by Vite into
//    dashboard/dist, which the server serves at /.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const ts = require('typescript');
const tsc = require.resolve('typescript/bin/tsc');
const node = (...args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });

fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });

// 1. Transpile only: enough to run scripts/openapi.ts; step 4 replaces these files.
for (const dir of ['src', 'scripts']) {
  for (const rel of fs.readdirSync(path.join(root, dir), { recursive: true }).map(String)) {
    if (!rel.endsWith('.ts') || rel.endsWith('.d.ts')) continue;
    const source = fs.readFileSync(path.join(root, dir, rel), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: rel,
    });
    const out = path.join(root, 'dist', dir, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, outputText);
  }
}
const generated = path.join(root, 'sdk', 'src', 'generated');
fs.mkdirSync(generated, { recursive: true });
node(path.join(root, 'dist', 'scripts', 'openapi.js'), path.join(generated, 'openapi.json'));

// 2.
node(path.join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'), path.join(generated, 'openapi.json'), '--output', path.join(generated, 'openapi.ts'), '--silent');

// 3. sdk/dist is emptied, not removed: npm takes a change of the workspace folder's own entries
// (sdk/dist appearing) for an outdated install, and `npx genjobs` would then reinstall and rebuild.
const sdkDist = path.join(root, 'sdk', 'dist');
fs.mkdirSync(sdkDist, { recursive: true });
for (const entry of fs.readdirSync(sdkDist)) fs.rmSync(path.join(sdkDist, entry), { recursive: true, force: true });
node(tsc, '-p', 'sdk/tsconfig.json');

// 4.
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
node(tsc, '-p', 'tsconfig.json');
fs.chmodSync(path.join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);

// 5.
execFileSync('npm', ['run', 'build', '--workspace', '@genjobs/dashboard'], { cwd: root, stdio: 'inherit' });
