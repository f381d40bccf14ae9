import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../config/config.js';
import { createApiKey, createUser, getUser, grantCredits, listApiKeys, listUsers, revokeApiKey } from '../accounts/admin.js';
import { presentApiKey, presentUser } from '../accounts/present.js';
import { updateUser } from '../accounts/scheduling.js';
import { cliActor } from '../audit/actor.js';
import { listAuditPage } from '../audit/list.js';
import { presentAuditEntry } from '../audit/present.js';
import { invalid } from '../errors/api-error.js';
import type { AuditContext, Store } from '../store/store.js';
import { table } from './user/output.js';

/**
 * The operator's commands: the same use cases as the admin API, run on the store directly. Their
 * changes are audited as made by `cli:<os user>`, with no request id or address.
 */
export function adminCommands(program: Command, config: () => Config): void {
  const who = (): AuditContext => ({ actor: cliActor(), requestId: null, clientAddress: null });
  const withStore = async (fn: (store: Store, cfg: Config) => Promise<unknown>) => {
    const cfg = config();
    // Loaded here, not at start: the user's commands never open a store.
    const { openStore } = await import('../store/open.js');
    const store = await openStore(cfg);
    try {
      const out = await fn(store, cfg);
      process.stdout.write(typeof out === 'string' ? `${out}\n` : `${JSON.stringify(out, null, 2)}\n`);
    } finally {
      await store.close();
    }
  };
  // Digits only: Number() would also read "" as 0, "0x10" as 16 and "1e3" as 1000, and round past 2^53.
  const wholeNumber = (v: string, field: string) => {
    const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw invalid(field, `"${v}" is not a whole number (digits only, within ±9007199254740991)`);
    return n;
  };
  const int = (v: string) => {
    try {
      return wholeNumber(v, 'value');
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

  const users = program.command('users').description('manage accounts');
  users.command('create')
    .description('create an account')
    .option('--name <name>', 'a name to recognise it by')
    .option('--credits <n>', 'initial credits', int, 0)
    .option('--no-api-access', 'create it without API access')
    .option('-q, --quiet', 'print only the new id')
    .action((o: { name?: string; credits: number; apiAccess: boolean; quiet?: boolean }) => withStore(async (store) => {
      const user = await createUser(store, { name: o.name, credits: o.credits, api_access: o.apiAccess }, who());
      return o.quiet ? user.id : presentUser(user);
    }));
  users.command('list')
    .description('list the accounts, oldest first')
    .option('--limit <n>', 'how many (1 to 1000)', int, 100)
    .option('--after <userId>', 'start after this account (the last id of the previous page)')
    .option('--json', 'print them as JSON')
    .action((o: { limit: number; after?: string; json?: boolean }) => withStore(async (store) => {
      const list = await listUsers(store, { limit: o.limit, afterId: o.after });
      if (o.json) return list.map(presentUser);
      if (list.length === 0) return 'no accounts';
      return table(['USER', 'NAME', 'CREDITS', 'API ACCESS', 'CREATED'], list.map((u) => [u.id, u.name, u.credits, u.apiAccess ? 'yes' : 'no', new Date(u.createdAt).toISOString()]));
    }));
  users.command('show <userId>')
    .description('show an account and its balance')
    .action((userId: string) => withStore(async (store) => presentUser(await getUser(store, userId))));
  // "default" (or "none") sets a limit back to the server default.
  // (Commander turns a parser's null into '', so "default" is carried as such and mapped in the action.)
  const limitArg = (v: string): number | 'default' => (v === 'default' || v === 'none' ? 'default' : int(v));
  const limitOf = (v: number | 'default' | undefined) => (v === 'default' ? null : v);
  users.command('update <userId>')
    .description('change an account\'s API access and its fair-scheduler settings (the options given; the rest are kept)')
    .option('--weight <n>', 'its share against other accounts with work (1 to 1000; default 1)', int)
    .option('--max-running <n|default>', 'the most jobs it may run at once ("default": GENJOBS_DEFAULT_MAX_RUNNING)', limitArg)
    .option('--max-running-per-model <n|default>', 'the most jobs of one model it may run at once', limitArg)
    .option('--max-priority <low|normal|high>', 'the highest priority its runs may ask for')
    .option('--api-access <on|off>', 'turn its API access on or off')
    .action((userId: string, o: { weight?: number; maxRunning?: number | 'default'; maxRunningPerModel?: number | 'default'; maxPriority?: string; apiAccess?: string }) =>
      withStore(async (store) => {
        const apiAccess = o.apiAccess === undefined ? undefined : /^(on|true|yes)$/i.test(o.apiAccess) ? true : /^(off|false|no)$/i.test(o.apiAccess) ? false : o.apiAccess;
        return presentUser(await updateUser(store, userId, {
          weight: o.weight, max_running: limitOf(o.maxRunning), max_running_per_model: limitOf(o.maxRunningPerModel), max_priority: o.maxPriority, api_access: apiAccess,
        }, who()));
      }));

  const credits = program.command('credits').description('move credits');
  credits.command('grant <userId> <amount>')
    .description('add credits to an account (a negative amount removes them; never below zero)')
    .option('--reason <text>', 'recorded in the ledger')
    .action((userId: string, amount: string, o: { reason?: string }) => withStore(async (store) => {
      const user = await grantCredits(store, userId, { amount: wholeNumber(amount, 'amount'), reason: o.reason }, who());
      return { user_id: user.id, credits: user.credits };
    }));

  const keys = program.command('keys').description('manage API keys');
  keys.command('create <userId>')
    .description('create an API key; the full key is printed only now')
    .option('--name <name>', 'a name to recognise it by')
    .option('--rate-limit <perMinute>', 'requests per minute (default: GENJOBS_DEFAULT_RATE_LIMIT)', int)
    .option('--expires-at <iso>', 'when it stops working, ISO 8601')
    .option('-q, --quiet', 'print only the key')
    .action((userId: string, o: { name?: string; rateLimit?: number; expiresAt?: string; quiet?: boolean }) => withStore(async (store, cfg) => {
      const { record, key } = await createApiKey(store, userId, {
        name: o.name, rate_limit_per_minute: o.rateLimit, expires_at: o.expiresAt,
      }, { rateLimitPerMinute: cfg.defaultRateLimitPerMinute }, who());
      return o.quiet ? key : presentApiKey(record, key);
    }));
  keys.command('list <userId>')
    .description('list an account\'s keys (prefixes only)')
    .action((userId: string) => withStore(async (store) => (await listApiKeys(store, userId)).map((k) => presentApiKey(k))));
  keys.command('revoke <userId> <keyId>')
    .description('deactivate a key; a running server refuses it within GENJOBS_AUTH_CACHE_MS (5 s) of its last use (the admin API revokes at once)')
    .action((userId: string, keyId: string) => withStore(async (store) => presentApiKey(await revokeApiKey(store, userId, keyId, who()))));

  auditCommand(program, withStore);
}

/** `genjobs audit list`: the audit log, newest first, as a table or JSON. */
function auditCommand(program: Command, withStore: (fn: (store: Store) => Promise<unknown>) => Promise<void>): void {
  const audit = program.command('audit').description('read the audit log of operator changes');
  audit.command('list')
    .description('list audit entries, newest first')
    .option('--limit <n>', 'how many (1 to 100)', '20')
    .option('--action <action>', 'only this action, such as user.credits.grant')
    .option('--target <id>', 'only changes to this account, key, app or worker')
    .option('--user <userId>', 'only changes to this account, its keys and its apps')
    .option('--after <entryId>', 'start after this entry (the last id of the previous page)')
    .option('--json', 'print them as JSON')
    .action((o: { limit: string; action?: string; target?: string; user?: string; after?: string; json?: boolean }) => withStore(async (store) => {
      const { entries, hasMore } = await listAuditPage(store, { limit: o.limit, action: o.action, target_id: o.target, user_id: o.user, starting_after: o.after });
      if (o.json) return entries.map(presentAuditEntry);
      if (entries.length === 0) return 'no audit entries';
      const rows = entries.map((e) => [
        new Date(e.at).toISOString(), e.actor, e.action, `${e.targetType} ${e.targetId}`, e.requestId, JSON.stringify(e.details),
      ]);
      const more = hasMore ? `\nmore: --after ${entries[entries.length - 1]!.id}` : '';
      return table(['TIME', 'ACTOR', 'ACTION', 'TARGET', 'REQUEST', 'DETAILS'], rows) + more;
    }));
}
