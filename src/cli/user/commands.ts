import { Option, type Command } from 'commander';
import type { App, GenJobs, Job, JobListQuery, JobStatus, RunOptions } from '@genjobs/sdk';
import { UsageError } from '../exit.js';
import { connect, duration, positiveInt, withConnection } from './connect.js';
import { follow } from './follow.js';
import { parseInputs, type InputShape } from './inputs.js';
import { describeFinished, print, printJson, table } from './output.js';

interface RunFlags {
  input: string[];
  wait?: boolean;
  timeout?: number;
  download?: string;
  json?: boolean;
  webhookUrl?: string;
  cancelAfter?: string;
  idempotencyKey?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The flags of `run` and `apps run`. */
function runFlags(command: Command): Command {
  return withConnection(command)
    .option('-i, --input <key=value>', 'an input, repeatable: -i prompt="a red fox" -i aspect_ratio=16:9 (key:=JSON for raw JSON)', collect, [])
    .option('-w, --wait', 'wait for the job to end, showing its progress')
    .option('--timeout <duration>', 'with --wait: give up after this long (90s, 5m, 1h); the job goes on', duration)
    .option('--download <dir>', 'wait, then save the output files into DIR')
    .option('--json', 'print the job as JSON')
    .option('--webhook-url <url>', 'call this URL when the job ends')
    .option('--cancel-after <duration>', 'cancel the job if it has not ended by then (30s, 10m, 1h)')
    .option('--idempotency-key <key>', 'send the run at most once under this key (default: a random key)');
}

function runOptions(f: RunFlags): RunOptions {
  return {
    ...(f.webhookUrl ? { webhookUrl: f.webhookUrl } : {}),
    ...(f.cancelAfter ? { cancelAfter: f.cancelAfter } : {}),
    ...(f.idempotencyKey ? { idempotencyKey: f.idempotencyKey } : {}),
  };
}

const followFlags = (f: RunFlags, nodeCount?: number) => ({
  wait: f.wait === true, timeoutMs: f.timeout, json: f.json, download: f.download, nodeCount,
});

/** Finds an app by id or by name (any case). */
async function findApp(client: GenJobs, ref: string): Promise<App> {
  const apps = (await client.apps.list()).data;
  const found = apps.find((a) => a.id === ref) ?? apps.find((a) => a.name.toLowerCase() === ref.toLowerCase());
  if (!found) throw new UsageError(`no app "${ref}": \`genjobs apps ls\` lists the apps this key may run`);
  return found;
}

/** The user's commands: they reach a genjobs server over HTTP with an API key, through @genjobs/sdk. */
export function userCommands(program: Command): void {
  const models = program.command('models').description('the models you can run');
  withConnection(models.command('ls').alias('list').description('list the models: id, modality, cost'))
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const list = (await connect(cmd).models.list()).data;
      if (o.json) return printJson(list);
      print(table(['MODEL', 'MODALITY', 'COST', 'SYNC', 'SETTINGS'], list.map((m) => [m.id, m.modality, m.cost, m.sync ? 'yes' : 'no', m.settings.map((s) => s.key).join(', ')])));
    });

  runFlags(program.command('run <model>').description('run a model: genjobs run local/image -i prompt="a red fox" --wait'))
    .action(async (model: string, f: RunFlags, cmd: Command) => {
      const client = connect(cmd);
      const found = (await client.models.list()).data.find((m) => m.id === model);
      const shapes = new Map<string, InputShape>((found?.settings ?? []).map((s) => [s.key, { type: s.inputType, options: s.options }]));
      const job = await client.run(model, parseInputs(f.input, shapes), runOptions(f));
      await follow(client, job, followFlags(f));
    });

  const apps = program.command('apps').description('apps: workflows of model nodes');
  withConnection(apps.command('ls').alias('list').description('list the apps you can run and their inputs'))
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const list = (await connect(cmd).apps.list()).data;
      if (o.json) return printJson(list);
      print(table(['APP', 'NAME', 'COST', 'NODES', 'INPUTS'], list.map((a) => [
        a.id, a.name, a.cost, a.node_count, a.inputs.map((i) => `${i.id}${i.required ? '*' : ''}`).join(', '),
      ])));
    });
  runFlags(apps.command('run <app>').description('run an app by id or name: genjobs apps run Storyboard -i prompt="a fox" --wait'))
    .action(async (ref: string, f: RunFlags, cmd: Command) => {
      const client = connect(cmd);
      const app = await findApp(client, ref);
      const shapes = new Map<string, InputShape>(app.inputs.map((i) => [i.id, { type: i.type, list: i.allowMultiple }]));
      const job = await client.apps.run(app.id, parseInputs(f.input, shapes), runOptions(f));
      await follow(client, job, followFlags(f, app.node_count));
    });

  jobCommands(program);

  withConnection(program.command('account').description('your balance, usage and keys'))
    .option('--json', 'print it as JSON')
    .option('--ledger', 'also list the last 100 ledger entries (charges, refunds, grants)')
    .action(async (o: { json?: boolean; ledger?: boolean }, cmd: Command) => {
      const client = connect(cmd);
      const account = await client.account.get();
      const ledger = o.ledger ? (await client.account.ledger()).data : undefined;
      if (o.json) return printJson(ledger ? { ...account, ledger } : account);
      print(table(['ACCOUNT', 'CREDITS', 'USED (30 DAYS)', 'RUNS (30 DAYS)', 'JOBS', 'ACTIVE KEYS'], [[
        account.user_id, account.credits, account.usage.credits_used_last_30d, account.usage.total_requests_last_30d, account.usage.total_jobs, account.api_keys.active,
      ]]));
      if (ledger) print(`\n${table(['WHEN', 'KIND', 'AMOUNT', 'BALANCE', 'JOB', 'REASON'], ledger.map((e) => [e.created_at, e.kind, e.amount, e.balance_after, e.job_id, e.reason]))}`);
    });
}

const STATUSES: JobStatus[] = ['pending', 'processing', 'completed', 'failed', 'cancelled'];

function jobRow(j: Job): (string | number | null)[] {
  return [j.id, j.status, j.model_id ?? `app ${j.app_id}`, j.credits_charged - j.credits_refunded, j.created_at];
}

function jobCommands(program: Command): void {
  const jobs = program.command('jobs').description('your jobs');
  withConnection(jobs.command('ls').alias('list').description('list your jobs, newest first'))
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(STATUSES))
    .option('--model <id>', 'only runs of this model')
    .option('--app <id>', 'only runs of this app')
    .option('--limit <n>', 'how many (default 20)', positiveInt)
    .option('--all', 'every job, page after page')
    .option('--json', 'print them as JSON')
    .action(async (o: { status?: JobStatus; model?: string; app?: string; limit?: number; all?: boolean; json?: boolean }, cmd: Command) => {
      const client = connect(cmd);
      const query: JobListQuery = {
        ...(o.status ? { status: o.status } : {}), ...(o.model ? { model_id: o.model } : {}), ...(o.app ? { app_id: o.app } : {}),
        ...(o.limit && !o.all ? { limit: Math.min(o.limit, 100) } : {}),
      };
      const list: Job[] = [];
      if (o.all) for await (const job of client.jobs.list(query)) list.push(job);
      else list.push(...(await client.jobs.list(query)).data);
      if (o.json) return printJson(list);
      print(list.length ? table(['JOB', 'STATUS', 'MODEL / APP', 'CREDITS', 'CREATED'], list.map(jobRow)) : 'no jobs');
    });
  withConnection(jobs.command('get <id>').description('one job: its status, error and outputs'))
    .option('--json', 'print it as JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const job = await connect(cmd).jobs.get(id);
      if (o.json) return printJson(job);
      print(describeFinished(job));
    });
  withConnection(jobs.command('cancel <id>').description('cancel a pending or processing job (refunded)'))
    .option('--json', 'print the answer as JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const res = await connect(cmd).jobs.cancel(id);
      if (o.json) return printJson(res);
      print(`cancelled  ${res.id}  (${res.credits_refunded} credits refunded)`);
    });
  withConnection(jobs.command('watch <id>').description('follow a job until it ends; exits with its outcome'))
    .option('--timeout <duration>', 'give up after this long (90s, 5m, 1h); the job goes on', duration)
    .option('--download <dir>', 'then save the output files into DIR')
    .option('--json', 'print the job as JSON')
    .action(async (id: string, o: { timeout?: number; download?: string; json?: boolean }, cmd: Command) => {
      const client = connect(cmd);
      const job = await client.jobs.get(id);
      const nodeCount = job.app_id ? (await client.apps.list()).data.find((a) => a.id === job.app_id)?.node_count : undefined;
      await follow(client, job, { wait: true, timeoutMs: o.timeout, json: o.json, download: o.download, nodeCount });
    });
}
