import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SDK_ROUTES, type Job, type JobEvent, type operations, type paths, type SdkRoute } from '@genjobs/sdk';
import { packageRoot } from '../../src/paths.js';
import { liveApp } from './live-server.js';
import type { TestApp } from '../helpers/app.js';

/*
 * Compile-time half: these lines only compile while the SDK and the server's OpenAPI document
 * (generated into sdk/src/generated/ by the build) agree. The SDK's own sources fail to compile
 * first when a schema it uses changes; here the other direction is checked.
 */

/** Every public route the server documents is one the SDK calls (the error names the missing route). */
type Uncovered = Exclude<Extract<keyof paths, `/api/v1/${string}`>, SdkRoute>;
const everyRouteCovered: [Uncovered] extends [never] ? true : { uncovered: Uncovered } = true;

/** The run headers the SDK sends are the ones each run route declares. */
type SentHeaders = 'Idempotency-Key' | 'Cancel-After';
type Declares<Op extends keyof operations> = SentHeaders extends keyof NonNullable<operations[Op]['parameters']['header']> ? true : { missing: Op };
const runHeadersDeclared: [Declares<'runModel'>, Declares<'runApp'>, Declares<'retryJob'>] = [true, true, true];

/** A status event carries the job object the document defines. */
const statusIsJob: Extract<JobEvent, { event: 'status' }>['data'] extends Job ? true : false = true;

describe('the SDK and the server agree', { timeout: 120_000 }, () => {
  let app: TestApp & { url: string };
  before(async () => { app = await liveApp(); });
  after(() => app.dispose());

  it('compiled against the contract checks above', () => {
    assert.deepEqual([everyRouteCovered, runHeadersDeclared, statusIsJob], [true, [true, true, true], true]);
  });

  it('built its types from the document the server serves now', async () => {
    const served = await (await fetch(`${app.url}/openapi.json`)).json() as Record<string, unknown>;
    const built = JSON.parse(fs.readFileSync(path.join(packageRoot, 'sdk', 'src', 'generated', 'openapi.json'), 'utf8')) as Record<string, unknown>;
    // `servers` names where the document was served from; the rest must match exactly.
    assert.deepEqual({ ...built, servers: null }, { ...served, servers: null });
  });

  it('calls only routes the server answers, and each of them', async () => {
    const served = await (await fetch(`${app.url}/openapi.json`)).json() as { paths: Record<string, unknown> };
    const publicPaths = Object.keys(served.paths).filter((p) => p.startsWith('/api/v1/')).sort();
    assert.deepEqual([...SDK_ROUTES].sort(), publicPaths);
  });
});
