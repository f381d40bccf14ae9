import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';

/** `genjobs backup` and `genjobs restore`: the store and the output files, for the operator (docs/operations.md#backups). */
export function backupCommands(program: Command, config: () => Config): void {
  program.command('backup')
    .description('back up the store and the output files into a new folder while the server runs')
    .requiredOption('--out <dir>', 'the folder to write (missing or empty)')
    .option('--pg-bin <dir>', 'folder of pg_dump, when it is not on PATH (PostgreSQL)')
    .action(async (o: { out: string; pgBin?: string }) => {
      const cfg = config();
      const { takeBackup } = await import('../backup/backup.js');
      const manifest = await takeBackup({ ...cfg, ...(o.pgBin ? { pgBin: o.pgBin } : {}) }, path.resolve(o.out));
      process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    });
  program.command('restore')
    .description('restore a backup into the configured store and DATA_DIR; stop every genjobs process on them first')
    .requiredOption('--from <dir>', 'a folder written by genjobs backup')
    .option('--force', 'replace a store or DATA_DIR that already holds data')
    .option('--pg-bin <dir>', 'folder of pg_restore, when it is not on PATH (PostgreSQL)')
    .action(async (o: { from: string; force?: boolean; pgBin?: string }) => {
      const cfg = config();
      const { restoreBackup } = await import('../backup/backup.js');
      const manifest = await restoreBackup({ ...cfg, ...(o.pgBin ? { pgBin: o.pgBin } : {}) }, path.resolve(o.from), { force: o.force === true });
      process.stdout.write(`${JSON.stringify({ restored: manifest.created_at, store: manifest.store, schema_version: manifest.schema_version, counts: manifest.counts, files: manifest.files }, null, 2)}\n`);
    });
}
