/**
 * Writes the OpenAPI 3.1 document of the routes to a file (or stdout) without serving:
 * `node dist/scripts/openapi.js [file]` (npm run openapi:write writes ./openapi.json).
 * It is the document GET /openapi.json serves, built from the same route schemas; the servers
 * entry is PUBLIC_URL (default http://localhost:8080).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { openApiDocument } from '../src/api/schemas/index.js';

async function main(out: string | undefined): Promise<void> {
  // A throwaway data folder: the app opens a store, though nothing is read or written.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-openapi-'));
  try {
    const config = loadConfig({ ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'silent' });
    const app = await createApp(config, { logger: pino({ level: 'silent' }) });
    try {
      await app.server.ready();
      const text = `${JSON.stringify(openApiDocument(app.server), null, 2)}\n`;
      if (out === undefined || out === '-') process.stdout.write(text);
      else fs.writeFileSync(out, text);
    } finally {
      await app.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main(process.argv[2]).catch((err: unknown) => {
  process.stderr.write(`openapi: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
