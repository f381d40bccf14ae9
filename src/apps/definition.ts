import type { Catalog } from '../catalog/load.js';
import { outputField, type ModelDefinition, type SettingDefinition } from '../catalog/model.js';
import { checkSetting } from '../catalog/validate-input.js';
import { topologicalOrder } from './graph.js';

/**
 * An app: a stored workflow of model nodes. Each node runs one catalog model; edges carry one
 * node's output into a later node's input handle (a setting, or `prompt`); the app's inputs say
 * which handles a run fills in. docs/apps.md describes the format with a complete example.
 */
export interface AppDefinition {
  id: string;
  name: string;
  description: string;
  icon: string | null;
  thumbnail_url: string | null;
  tags: string[];
  /** Credits per run; null means the sum of its nodes' model costs. */
  cost: number | null;
  /** A run still going after this long is failed and refunded. (Default: the sum of its nodes' timeouts) */
  timeout_ms: number | null;
  nodes: AppNode[];
  edges: AppEdge[];
  inputs: AppInput[];
}

export interface AppNode {
  id: string;
  model: string;
  /** Fixed values of the model's settings (or `prompt`). */
  settings: Record<string, unknown>;
}

export interface AppEdge {
  from: string;
  /** The output field of the `from` node's model, such as `outputImage`. */
  output: string;
  to: string;
  /** The setting key (or `prompt`) of the `to` node's model it fills. */
  input: string;
}

export const APP_INPUT_TYPES = ['text', 'image', 'video', 'audio', 'number', 'integer', 'boolean', 'select'] as const;
export type AppInputType = (typeof APP_INPUT_TYPES)[number];

export interface AppInput {
  /** The key a run sends in `inputs`. */
  id: string;
  type: AppInputType;
  label: string;
  required: boolean;
  /** `<node id>:<setting key>`: the handle this input fills. */
  targetHandle: string;
  /** The value is an array; its handle must take several values. */
  allowMultiple: boolean;
}

export class AppDefinitionError extends Error {
  override name = 'AppDefinitionError';
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const ID = /^[\w-]{1,64}$/;

/** The setting a handle names on a model; `prompt` is a text handle of every model. */
export function handleSetting(model: ModelDefinition, key: string): SettingDefinition | undefined {
  if (key === 'prompt') return { key: 'prompt', label: 'Prompt', inputType: 'text', required: model.promptRequired };
  return model.settings.find((s) => s.key === key);
}

/** Whether a value of `kind` (an output type or an app input type) may fill setting `s`. */
function fits(kind: string, s: SettingDefinition): boolean {
  switch (kind) {
    case 'text': return s.inputType === 'text';
    case 'number': return s.inputType === 'number';
    case 'integer': return s.inputType === 'integer' || s.inputType === 'number';
    case 'boolean': return s.inputType === 'boolean';
    case 'select': return s.inputType === 'select';
    default: return s.inputType === 'url' && (s.accepts === undefined || s.accepts === kind);
  }
}

/**
 * Reads and checks an app definition against the catalog: known models and handles, edges and
 * inputs of fitting types, every required setting fed, and no cycles. A problem throws an
 * AppDefinitionError that names it.
 */
export function parseAppDefinition(raw: unknown, catalog: Catalog, opts: { id?: string } = {}): AppDefinition {
  const fail = (where: string, problem: string): never => { throw new AppDefinitionError(`${where} ${problem}`); };
  if (!isObject(raw)) return fail('the app', 'must be a JSON object');
  const id = opts.id ?? raw.id;
  if (typeof id !== 'string' || !ID.test(id)) fail('id', 'must be 1 to 64 letters, digits, _ or -');
  if (typeof raw.name !== 'string' || raw.name.trim() === '' || raw.name.length > 200) fail('name', 'must be a non-empty string of at most 200 characters');
  const optionalString = (key: string): string | null => {
    const v = raw[key];
    if (v === undefined || v === null) return null;
    return typeof v === 'string' ? v : fail(key, 'must be a string');
  };
  const tags = raw.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) fail('tags', 'must be an array of strings');
  const positiveOrNull = (key: string, min: number): number | null => {
    const v = raw[key];
    if (v === undefined || v === null) return null;
    // Safe integers only: a cost past 2^53 is not an exact number of credits.
    return Number.isSafeInteger(v) && (v as number) >= min ? (v as number) : fail(key, `must be a whole number of at least ${min}`);
  };

  // Nodes
  if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) fail('nodes', 'must be a non-empty array');
  const nodes: AppNode[] = [];
  const models = new Map<string, ModelDefinition>();
  for (const [i, n] of (raw.nodes as unknown[]).entries()) {
    const at = `nodes[${i}]`;
    if (!isObject(n)) return fail(at, 'must be an object');
    if (typeof n.id !== 'string' || !ID.test(n.id)) fail(`${at}.id`, 'must be 1 to 64 letters, digits, _ or -');
    if (models.has(n.id as string)) fail(`${at}.id`, `"${n.id as string}" is used by two nodes`);
    const model = typeof n.model === 'string' ? catalog.get(n.model) : undefined;
    if (!model) return fail(`${at}.model`, `"${String(n.model)}" is not a model of the catalog`);
    if (model.provider.type === 'worker') fail(`${at}.model`, `${model.id} runs on remote workers, which apps cannot use as nodes yet`);
    const settings = n.settings ?? {};
    if (!isObject(settings)) return fail(`${at}.settings`, 'must be an object');
    for (const [key, value] of Object.entries(settings)) {
      const s = handleSetting(model, key);
      if (!s) fail(`${at}.settings.${key}`, `is not a setting of ${model.id}`);
      try { checkSetting(s!, value, `${at}.settings.${key}`); } catch (err) { fail(`${at}.settings.${key}`, (err as Error).message.replace(/^[^:]*: /, '')); }
    }
    models.set(n.id as string, model);
    nodes.push({ id: n.id as string, model: model.id, settings });
  }

  // Who feeds each handle: a fixed setting, one app input, or edges.
  const feeders = new Map<string, string[]>();
  const feed = (handle: string, by: string) => feeders.set(handle, [...(feeders.get(handle) ?? []), by]);
  for (const n of nodes) for (const key of Object.keys(n.settings)) feed(`${n.id}:${key}`, 'a fixed setting');

  // Edges
  // Checked like `inputs`: an object or string here used to reach `.entries()` and answer a 500.
  if (raw.edges !== undefined && !Array.isArray(raw.edges)) fail('edges', 'must be an array');
  const edges: AppEdge[] = [];
  for (const [i, e] of ((raw.edges ?? []) as unknown[]).entries()) {
    const at = `edges[${i}]`;
    if (!isObject(e)) return fail(at, 'must be an object');
    const from = models.get(e.from as string);
    const to = models.get(e.to as string);
    if (!from) return fail(`${at}.from`, `"${String(e.from)}" is not a node of this app`);
    if (!to) return fail(`${at}.to`, `"${String(e.to)}" is not a node of this app`);
    const produced = outputField(from.outputType);
    const output = e.output ?? produced;
    if (output !== produced) fail(`${at}.output`, `"${String(output)}" is not what ${from.id} produces (${produced})`);
    const setting = typeof e.input === 'string' ? handleSetting(to, e.input) : undefined;
    if (!setting) return fail(`${at}.input`, `"${String(e.input)}" is not a setting of ${to.id}`);
    if (!fits(from.outputType, setting)) fail(at, `carries ${from.outputType} from ${e.from as string}, which ${to.id}'s ${setting.key} cannot take`);
    edges.push({ from: e.from as string, output: produced, to: e.to as string, input: setting.key });
    feed(`${e.to as string}:${setting.key}`, 'an edge');
  }

  // Inputs
  if (raw.inputs !== undefined && !Array.isArray(raw.inputs)) fail('inputs', 'must be an array');
  const inputs: AppInput[] = [];
  for (const [i, inp] of ((raw.inputs ?? []) as unknown[]).entries()) {
    const at = `inputs[${i}]`;
    if (!isObject(inp)) return fail(at, 'must be an object');
    if (typeof inp.id !== 'string' || !ID.test(inp.id)) fail(`${at}.id`, 'must be 1 to 64 letters, digits, _ or -');
    if (inputs.some((x) => x.id === inp.id)) fail(`${at}.id`, `"${inp.id as string}" is used by two inputs`);
    if (!(APP_INPUT_TYPES as readonly unknown[]).includes(inp.type)) fail(`${at}.type`, `must be one of ${APP_INPUT_TYPES.join(', ')}`);
    const [nodeId, key] = typeof inp.targetHandle === 'string' ? inp.targetHandle.split(':') : [];
    const model = models.get(nodeId ?? '');
    const setting = model && key ? handleSetting(model, key) : undefined;
    if (!setting) return fail(`${at}.targetHandle`, 'must be "<node id>:<setting key>" naming a node of this app and a setting of its model');
    if (!fits(inp.type as string, setting)) fail(`${at}.type`, `${inp.type as string} cannot fill ${model!.id}'s ${setting.key}`);
    const allowMultiple = inp.allowMultiple === true;
    if (allowMultiple !== (setting.multiple === true)) fail(`${at}.allowMultiple`, `must be ${setting.multiple === true} for ${model!.id}'s ${setting.key}`);
    const label = typeof inp.label === 'string' && inp.label !== '' ? inp.label : (inp.id as string);
    inputs.push({ id: inp.id as string, type: inp.type as AppInputType, label, required: inp.required === true, targetHandle: `${nodeId}:${setting.key}`, allowMultiple });
    feed(`${nodeId}:${setting.key}`, 'an input');
  }

  // Every handle has one source: a fixed value (which one input may override, when given), one
  // input, or edges (several only into a multiple handle). Every required setting has one.
  for (const [handle, by] of feeders) {
    const [nodeId, key] = handle.split(':') as [string, string];
    const setting = handleSetting(models.get(nodeId)!, key)!;
    const kinds = new Set(by);
    const override = by.length === 2 && kinds.has('a fixed setting') && kinds.has('an input');
    const gathered = kinds.size === 1 && kinds.has('an edge') && setting.multiple === true;
    if (by.length > 1 && !override && !gathered) {
      fail(`node ${nodeId}`, `has ${key} filled by ${by.join(' and ')}; give each setting one source`);
    }
  }
  for (const n of nodes) {
    const model = models.get(n.id)!;
    const required = [...(model.promptRequired ? ['prompt'] : []), ...model.settings.filter((s) => s.required).map((s) => s.key)];
    for (const key of required) {
      const by = feeders.get(`${n.id}:${key}`);
      if (!by) fail(`node ${n.id}`, `needs ${key} (${model.id} requires it), but nothing fills it`);
      const input = inputs.find((x) => x.targetHandle === `${n.id}:${key}`);
      if (input && !input.required && !by!.includes('a fixed setting')) fail(`inputs.${input.id}`, `must be required: it fills ${key}, which ${model.id} requires`);
    }
  }

  const order = topologicalOrder(nodes.map((n) => n.id), edges);
  if (!order) fail('edges', 'form a cycle: a node cannot wait for its own output');

  return {
    id: id as string, name: (raw.name as string).trim(), description: optionalString('description') ?? '',
    icon: optionalString('icon'), thumbnail_url: optionalString('thumbnail_url'), tags: tags as string[],
    cost: positiveOrNull('cost', 0), timeout_ms: positiveOrNull('timeout_ms', 1), nodes, edges, inputs,
  };
}

/** Credits a run of the app costs. */
export function appCost(app: AppDefinition, catalog: Catalog): number {
  return app.cost ?? app.nodes.reduce((sum, n) => sum + (catalog.get(n.model)?.cost ?? 0), 0);
}

/** How long a run may take before it is failed and refunded. */
export function appTimeoutMs(app: AppDefinition, catalog: Catalog): number {
  return app.timeout_ms ?? app.nodes.reduce((sum, n) => sum + (catalog.get(n.model)?.timeoutMs ?? 0), 0);
}
