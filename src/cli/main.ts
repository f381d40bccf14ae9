#!/usr/bin/env node
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { CatalogError } from '../catalog/load.js';
import { ApiError } from '../errors/api-error.js';
import { runProcess } from './serve.js';
import { adminCommands } from './admin.js';

/** `genjobs`: the server and the operator's commands, which work on the store directly. */
const program = new Command('genjobs')
  .description('Self-hosted server for AI-generation jobs')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the HTTP API and, unless --no-executor, the executor')
  .addOption(new Option('--no-executor', 'serve the API only; executors run elsewhere'))
  .action(async (opts: { executor: boolean }) => {
    const config = config_();
    await runProcess({ ...config, executorEnabled: config.executorEnabled && opts.executor }, 'serve');
  });

program
  .command('executor')
  .description('run only the executor: claim and run jobs from the shared store, no HTTP')
  .action(async () => {
    await runProcess({ ...config_(), executorEnabled: true }, 'executor');
  });

adminCommands(program, config_);

function config_(): Config {
  return loadConfig(process.env);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof CatalogError || err instanceof ApiError) {
    process.stderr.write(`genjobs: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`genjobs: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
