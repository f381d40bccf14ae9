import type { Catalog } from '../catalog/load.js';
import { resolveInput } from '../catalog/validate-input.js';
import { runWithSignal } from '../providers/run-with-signal.js';
import type { FileStorage } from '../files/storage.js';
import { renderOutput, type LinkFile } from '../outputs/render.js';
import { ProviderError } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { handleSetting, type AppDefinition, type AppNode } from './definition.js';

/** The output of an app job, as the contract shapes it; `node_outputs` fills in node by node. */
export interface AppOutput {
  app_id: string;
  app_name: string;
  node_outputs: Record<string, Record<string, unknown>>;
}

export interface AppRunOptions {
  jobId: string;
  app: AppDefinition;
  /** The run's `inputs`, keyed by app input id. */
  inputs: Record<string, unknown>;
  /** Outputs of nodes that finished in an earlier attempt: they are not run again. */
  done: Record<string, Record<string, unknown>>;
  catalog: Catalog;
  providers: ProviderRegistry;
  files: FileStorage;
  /** Makes the link a node's input gets for a file an earlier node stored (this process's links). */
  link: LinkFile;
  /** Aborted when the job is cancelled, times out, loses its lease or the executor stops. */
  signal: AbortSignal;
  /** Stores the output so far; false means the job is no longer this executor's to change. */
  saveProgress: (output: AppOutput) => Promise<boolean>;
  /** How many nodes of one job run at once. (Default: 4) */
  concurrency?: number;
}

const NODE_FAILED = new Error('Another node of the app failed.');

/**
 * Runs an app's nodes, each as soon as every node it takes input from has finished, several at
 * once where the graph allows. Each finished node's output is stored before the next step, so
 * a client polling the job sees progress and a restarted job skips what is done. The first
 * failing node stops the others and fails the job with its message.
 */
export async function runAppNodes(o: AppRunOptions): Promise<AppOutput> {
  const { app } = o;
  const output: AppOutput = { app_id: app.id, app_name: app.name, node_outputs: {} };
  for (const node of app.nodes) if (o.done[node.id]) output.node_outputs[node.id] = o.done[node.id] as Record<string, unknown>;
  const stop = new AbortController();
  const onAbort = () => stop.abort(o.signal.reason);
  o.signal.addEventListener('abort', onAbort, { once: true });
  const running = new Map<string, Promise<void>>();
  let failure: Error | null = null;
  const limit = o.concurrency ?? 4;
  // Saves go one at a time, each with the output as it is when its turn comes: two nodes
  // finishing together must not let an older snapshot land last.
  let saving: Promise<unknown> = Promise.resolve();
  const save = async () => {
    const turn = saving.then(() => o.saveProgress(structuredClone(output)));
    saving = turn.catch(() => undefined);
    if (!(await turn)) stop.abort(o.signal.reason ?? NODE_FAILED);
  };

  const isDone = (id: string) => output.node_outputs[id] !== undefined;
  const ready = () => app.nodes.filter((n) => !isDone(n.id) && !running.has(n.id)
    && app.edges.every((e) => e.to !== n.id || isDone(e.from)));

  try {
    // Shows the app's name and the nodes done so far from the start.
    await save();
    while (!failure && !stop.signal.aborted && app.nodes.some((n) => !isDone(n.id))) {
      for (const node of ready().slice(0, Math.max(0, limit - running.size))) {
        running.set(node.id, runNode(o, node, output, stop.signal).then(
          async (result) => {
            output.node_outputs[node.id] = result;
            await save();
          },
          (err: unknown) => {
            if (stop.signal.aborted) return;
            failure ??= new ProviderError(`Node ${node.id} (${node.model}) failed: ${err instanceof Error ? err.message : String(err)}`);
            stop.abort(NODE_FAILED);
          },
        ).finally(() => running.delete(node.id)));
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    await Promise.allSettled(running.values());
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
  if (o.signal.aborted) throw o.signal.reason;
  if (failure) throw failure;
  if (app.nodes.some((n) => !isDone(n.id))) throw new ProviderError('The app stopped before every node ran.');
  return output;
}

/**
 * The input of one node: its fixed settings, the app inputs aimed at it, and its upstream
 * outputs, with each stored file an earlier node made given as a link (`files` maps each such
 * link to its storage key, so built-in models read the file itself).
 */
async function nodeInput(o: AppRunOptions, node: AppNode, output: AppOutput): Promise<{ input: Record<string, unknown>; files: Map<string, string> }> {
  const files = new Map<string, string>();
  const link: LinkFile = async (file) => {
    const url = await o.link(file);
    files.set(url, file.key);
    return url;
  };
  const model = o.catalog.get(node.model)!;
  const input: Record<string, unknown> = { ...node.settings };
  for (const i of o.app.inputs) {
    const [nodeId, key] = i.targetHandle.split(':') as [string, string];
    if (nodeId === node.id && o.inputs[i.id] !== undefined) input[key] = o.inputs[i.id];
  }
  for (const e of o.app.edges) {
    if (e.to !== node.id) continue;
    const stored = output.node_outputs[e.from]?.[e.output];
    const value = await renderOutput(stored, link);
    if (handleSetting(model, e.input)?.multiple) input[e.input] = [...((input[e.input] as unknown[] | undefined) ?? []), value];
    else input[e.input] = value;
  }
  return { input, files };
}

async function runNode(o: AppRunOptions, node: AppNode, output: AppOutput, appSignal: AbortSignal): Promise<Record<string, unknown>> {
  const model = o.catalog.get(node.model);
  const provider = o.providers.forModel(node.model);
  if (!model || !provider) throw new Error(`model ${node.model} is no longer in this server's catalog`);
  const given = await nodeInput(o, node, output);
  const input = resolveInput(model, given.input);
  const timeout = AbortSignal.timeout(model.timeoutMs);
  const signal = AbortSignal.any([appSignal, timeout]);
  try {
    return await runWithSignal(signal, () => provider.run({ jobId: o.jobId, model, input, signal, files: o.files, inputFiles: given.files }));
  } catch (err) {
    if (timeout.aborted && !appSignal.aborted) throw new Error(`timed out after ${model.timeoutMs} ms`);
    throw err;
  }
}
