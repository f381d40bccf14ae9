import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/* The layer picture of docs/architecture.md, checked with dependency-cruiser (.dependency-cruiser.cjs). */

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const cli = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.cjs');

/** Runs dependency-cruiser over `src` in `cwd` with the committed rules. */
function cruise(cwd: string): { status: number | null; output: string } {
  const res = spawnSync(process.execPath, [cli, 'src', '--config', config, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

describe('layers', () => {
  it('every import in src/ follows the layer picture, with no cycle', () => {
    const { status, output } = cruise(root);
    assert.equal(status, 0, output);
    const cruised = /\((\d+) modules, (\d+) dependencies cruised\)/.exec(output);
    assert.ok(cruised && Number(cruised[1]) > 50, `expected the whole of src/ to be cruised: ${output}`);
  });

  it('the rules refuse an import against the picture, a cycle and a route reaching the store', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-layers-'));
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      };
      fs.copyFileSync(path.join(root, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
      // apps/ may not import runs/ (runs/ sits above it); runs/ importing apps/ closes a cycle.
      write('src/apps/app.ts', "import { run } from '../runs/run.js';\nexport const app = () => run;\n");
      write('src/runs/run.ts', "import { app } from '../apps/app.js';\nexport const run = () => app;\n");
      write('src/store/store.ts', 'export class Store {}\n');
      write('src/api/route.ts', "import { Store } from '../store/store.js';\nexport const route = new Store();\n");
      const { status, output } = cruise(dir);
      assert.notEqual(status, 0, output);
      assert.match(output, /not-in-allowed: src\/apps\/app\.ts → src\/runs\/run\.ts/);
      assert.match(output, /no-cycles: src\/(apps\/app|runs\/run)\.ts/);
      assert.match(output, /routes-use-use-cases: src\/api\/route\.ts → src\/store\/store\.ts/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no file in src/ is over 400 lines, so each stays one responsibility a reader can hold', () => {
    const files = fs.readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 50, 'the whole of src/ was read');
    const long = files
      .map((f) => ({ f, lines: fs.readFileSync(path.join(root, 'src', f), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 400)
      .map(({ f, lines }) => `${f}: ${lines} lines`);
    assert.deepEqual(long, []);
  });
});
