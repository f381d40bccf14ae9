#!/usr/bin/env node
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { CatalogError } from '../catalog/load.js';
import { ApiError } from '../errors/api-error.js';
import { runProcess } from './serve.js';
import { adminCommands } from './admin.js';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../observability/logger.js';
import { ReferenceWorker, type ReferenceWorkerOptions } from '../workers/reference-worker.js';

/** Runs the reference worker until SIGTERM or SIGINT. */
async function runWorker(options: ReferenceWorkerOptions): Promise<void> {
  const worker = new ReferenceWorker(options);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    options.logger.info({ graceMs: options.shutdownGraceMs }, 'worker: shutting down');
    void worker.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  worker.start();
  options.logger.info({ url: options.url, models: options.models, concurrency: options.concurrency }, 'genjobs worker is running');
}

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

program
  .command('worker')
  .description('run a self-hosted worker: claim jobs of a model from a genjobs server and run a command for each')
  .requiredOption('--url <url>', 'the genjobs server, such as http://genjobs:8080')
  .option('--token <token>', 'the worker token from POST /admin/v1/workers (or GENJOBS_WORKER_TOKEN)')
  .option('--model <id...>', 'models to take jobs of (default: every model the token serves)')
  .requiredOption('--exec <command>', 'shell command per job: input JSON on stdin, output files into $GENJOBS_OUTPUT_DIR')
  .option('--concurrency <n>', 'jobs at once', (v) => Number(v), 1)
  .option('--grace-ms <ms>', 'on SIGTERM, how long running commands may finish', (v) => Number(v), 30_000)
  .action(async (o: { url: string; token?: string; model?: string[]; exec: string; concurrency: number; graceMs: number }) => {
    const token = o.token ?? process.env.GENJOBS_WORKER_TOKEN;
    if (!token) throw new ConfigError('genjobs worker needs --token or GENJOBS_WORKER_TOKEN: the token POST /admin/v1/workers returned.');
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new ConfigError('--concurrency must be a whole number of at least 1.');
    await runWorker({ url: o.url, token, models: o.model ?? [], exec: o.exec, concurrency: o.concurrency, shutdownGraceMs: o.graceMs, logger: createLogger((process.env.LOG_LEVEL ?? 'info') as LevelWithSilent) });
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
