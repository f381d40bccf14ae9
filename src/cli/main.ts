#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { packageRoot } from '../paths.js';
import { adminCommands } from './admin.js';
import { backupCommands } from './backup.js';
import { userCommands } from './user/commands.js';
import { describeFailure } from './exit.js';
import type { LevelWithSilent } from 'pino';
import type { ReferenceWorkerOptions } from '../workers/reference-worker.js';

/** Runs the reference worker until SIGTERM or SIGINT. */
async function runWorker(options: ReferenceWorkerOptions): Promise<void> {
  const { ReferenceWorker } = await import('../workers/reference-worker.js');
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

const { version } = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };

/**
 * `genjobs`: the server, the operator's commands (which work on the store directly) and the
 * user's commands (which reach a server over HTTP with an API key). Every failure ends as one
 * line on stderr and an exit code from EXIT (docs/cli.md).
 */
const program = new Command('genjobs')
  .description('Self-hosted server for AI-generation jobs')
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({
    outputError: (text, write) => write(`genjobs: ${text.replace(/^error: /, '').trimEnd()} (see --help)\n`),
  });

program
  .command('serve')
  .description('run the HTTP API and, unless --no-executor, the executor')
  .addOption(new Option('--no-executor', 'serve the API only; executors run elsewhere'))
  .action(async (opts: { executor: boolean }) => {
    const config = config_();
    const { runProcess } = await import('./serve.js');
    await runProcess({ ...config, executorEnabled: config.executorEnabled && opts.executor }, 'serve');
  });

program
  .command('executor')
  .description('run only the executor: claim and run jobs from the shared store, no API (health and metrics on GENJOBS_EXECUTOR_PORT when set)')
  .action(async () => {
    const { runProcess } = await import('./serve.js');
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
    const { createLogger } = await import('../observability/logger.js');
    await runWorker({ url: o.url, token, models: o.model ?? [], exec: o.exec, concurrency: o.concurrency, shutdownGraceMs: o.graceMs, logger: createLogger((process.env.LOG_LEVEL ?? 'info') as LevelWithSilent) });
  });

adminCommands(program, config_);
backupCommands(program, config_);
userCommands(program);

function config_(): Config {
  return loadConfig(process.env);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const { line, code } = describeFailure(err);
  if (line !== null) process.stderr.write(`genjobs: ${line}\n`);
  if (process.env.GENJOBS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(code);
});
