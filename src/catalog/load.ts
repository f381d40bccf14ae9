import fs from 'node:fs';
import { MODALITIES, SETTING_TYPES, type ModelDefinition, type SettingDefinition } from './model.js';

export class CatalogError extends Error {
  override name = 'CatalogError';
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks a catalog file; a problem throws a CatalogError naming the file and the field. */
export function loadCatalog(file: string): Catalog {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CatalogError(`Cannot read the model catalog ${file}: ${(err as Error).message}`);
  }
  const apps = (raw as { apps?: unknown }).apps ?? [];
  if (!Array.isArray(apps)) throw new CatalogError(`${file}: "apps" must be an array of app definitions`);
  return new Catalog(parseCatalog(raw, file), apps);
}

export function parseCatalog(raw: unknown, source: string): ModelDefinition[] {
  const fail = (where: string, problem: string): never => {
    throw new CatalogError(`${source}: ${where} ${problem}`);
  };
  if (!isObject(raw) || !Array.isArray(raw.models)) fail('the top level', 'must be an object with a "models" array');
  const models = (raw as { models: unknown[] }).models.map((m, i) => parseModel(m, `models[${i}]`, fail));
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.id)) fail(`model "${m.id}"`, 'is defined twice');
    seen.add(m.id);
  }
  return models;
}

type Fail = (where: string, problem: string) => never;

function parseModel(m: unknown, at: string, fail: Fail): ModelDefinition {
  if (!isObject(m)) return fail(at, 'must be an object');
  const str = (key: string, fallback?: string): string => {
    const v = m[key] ?? fallback;
    return typeof v === 'string' && v.length > 0 ? v : fail(`${at}.${key}`, 'must be a non-empty string');
  };
  const id = str('id');
  if (!/^[\w.-]+\/[\w.-]+$/.test(id)) fail(`${at}.id`, `"${id}" must look like owner/name`);
  const modality = str('modality');
  if (!(MODALITIES as readonly string[]).includes(modality)) fail(`${at}.modality`, `must be one of ${MODALITIES.join(', ')}`);
  const cost = m.cost;
  if (!Number.isInteger(cost) || (cost as number) < 0) fail(`${at}.cost`, 'must be a whole number of credits, 0 or more');
  const positiveInt = (key: string, fallback: number | null): number | null => {
    const v = m[key];
    if (v === undefined || v === null) return fallback;
    return Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(`${at}.${key}`, 'must be a whole number above 0');
  };
  if (!isObject(m.provider) || typeof m.provider.type !== 'string') fail(`${at}.provider`, 'must be an object with a "type"');
  const settings = m.settings ?? [];
  if (!Array.isArray(settings)) fail(`${at}.settings`, 'must be an array');
  const parsedSettings = (settings as unknown[]).map((s, i) => parseSetting(s, `${at}.settings[${i}]`, fail));
  const inputTypes = m.inputTypes ?? ['text'];
  if (!Array.isArray(inputTypes) || !inputTypes.every((t) => typeof t === 'string')) fail(`${at}.inputTypes`, 'must be an array of strings');
  return {
    id,
    name: str('name'),
    modality: modality as ModelDefinition['modality'],
    description: typeof m.description === 'string' ? m.description : '',
    cost: cost as number,
    inputTypes: inputTypes as string[],
    promptRequired: m.promptRequired === true,
    outputType: str('outputType', modality),
    settings: parsedSettings,
    provider: m.provider as ModelDefinition['provider'],
    sync: m.sync === true,
    timeoutMs: positiveInt('timeout_ms', 300_000) as number,
    concurrency: positiveInt('concurrency', null),
  };
}

function parseSetting(s: unknown, at: string, fail: Fail): SettingDefinition {
  if (!isObject(s)) return fail(at, 'must be an object');
  if (typeof s.key !== 'string' || !/^\w+$/.test(s.key)) fail(`${at}.key`, 'must be a word (letters, digits, _)');
  if (s.key === 'prompt') fail(`${at}.key`, '"prompt" is implied by promptRequired and is not a setting');
  if (!(SETTING_TYPES as readonly unknown[]).includes(s.inputType)) fail(`${at}.inputType`, `must be one of ${SETTING_TYPES.join(', ')}`);
  if (s.inputType === 'select' && (!Array.isArray(s.options) || s.options.length === 0)) fail(`${at}.options`, 'must list the allowed values of a select');
  for (const bound of ['min', 'max', 'maxLength'] as const) {
    if (s[bound] !== undefined && typeof s[bound] !== 'number') fail(`${at}.${bound}`, 'must be a number');
  }
  if (s.defaultValue !== undefined && s.multiple !== true) {
    const d = s.defaultValue;
    if (s.inputType === 'select' && !(s.options as unknown[]).includes(d)) fail(`${at}.defaultValue`, 'must be one of the options');
    if ((s.inputType === 'number' || s.inputType === 'integer')
      && (typeof d !== 'number' || (s.inputType === 'integer' && !Number.isInteger(d))
        || (typeof s.min === 'number' && d < s.min) || (typeof s.max === 'number' && d > s.max))) {
      fail(`${at}.defaultValue`, `must be a${s.inputType === 'integer' ? ' whole' : ''} number within min and max`);
    }
    if (s.inputType === 'boolean' && typeof d !== 'boolean') fail(`${at}.defaultValue`, 'must be true or false');
    if ((s.inputType === 'text' || s.inputType === 'url') && typeof d !== 'string') fail(`${at}.defaultValue`, 'must be a string');
  }
  return {
    key: s.key as string,
    label: typeof s.label === 'string' ? s.label : (s.key as string),
    inputType: s.inputType as SettingDefinition['inputType'],
    ...(s.defaultValue !== undefined ? { defaultValue: s.defaultValue } : {}),
    ...(Array.isArray(s.options) ? { options: s.options as (string | number)[] } : {}),
    ...(typeof s.min === 'number' ? { min: s.min } : {}),
    ...(typeof s.max === 'number' ? { max: s.max } : {}),
    ...(typeof s.maxLength === 'number' ? { maxLength: s.maxLength } : {}),
    required: s.required === true,
    ...(s.multiple === true ? { multiple: true } : {}),
    ...(typeof s.maxItems === 'number' ? { maxItems: s.maxItems } : {}),
    ...(typeof s.accepts === 'string' ? { accepts: s.accepts } : {}),
  };
}

/** The loaded catalog: models by id, in file order. */
export class Catalog {
  private readonly byId: Map<string, ModelDefinition>;

  /**
   * @param appTemplates the catalog's template apps, unchecked: `apps/` reads them, since
   *   checking an app needs the models.
   */
  constructor(readonly models: readonly ModelDefinition[], readonly appTemplates: readonly unknown[] = []) {
    this.byId = new Map(models.map((m) => [m.id, m]));
  }

  get(id: string): ModelDefinition | undefined {
    return this.byId.get(id);
  }
}

/** Models that remote workers execute (provider type `worker`); the executor never runs them. */
export function workerModels(catalog: Catalog): string[] {
  return catalog.models.filter((m) => m.provider.type === 'worker').map((m) => m.id);
}
