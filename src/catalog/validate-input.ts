import { apiError } from '../errors/api-error.js';
import type { ModelDefinition, SettingDefinition } from './model.js';

const DEFAULT_MAX_TEXT = 10_000;

const bad = (field: string, problem: string) => apiError('invalid_input', { detail: `${field}: ${problem}` });

/**
 * Checks a run's `input` against the model's settings and returns it with defaults filled in.
 * Every refusal is a 400 that names the field, so nothing is charged for a bad request.
 */
export function resolveInput(model: ModelDefinition, input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('input', 'must be an object of settings');
  const given = input as Record<string, unknown>;
  const resolved: Record<string, unknown> = {};

  const prompt = given.prompt;
  if (prompt !== undefined && typeof prompt !== 'string') throw bad('input.prompt', 'must be a string');
  if (model.promptRequired && (typeof prompt !== 'string' || prompt.trim() === '')) {
    throw bad('input.prompt', `is required by ${model.id}`);
  }
  if (typeof prompt === 'string') {
    if (prompt.length > DEFAULT_MAX_TEXT) throw bad('input.prompt', `must be at most ${DEFAULT_MAX_TEXT} characters`);
    resolved.prompt = prompt;
  }

  const known = new Map(model.settings.map((s) => [s.key, s]));
  for (const key of Object.keys(given)) {
    if (key !== 'prompt' && !known.has(key)) {
      const list = model.settings.map((s) => s.key).join(', ') || 'none besides prompt';
      throw bad(`input.${key}`, `is not a setting of ${model.id} (its settings: ${list})`);
    }
  }
  for (const setting of model.settings) {
    const value = given[setting.key];
    if (value === undefined || value === null) {
      if (setting.required) throw bad(`input.${setting.key}`, `is required by ${model.id}`);
      if (setting.defaultValue !== undefined) resolved[setting.key] = setting.defaultValue;
      continue;
    }
    resolved[setting.key] = checkSetting(setting, value, `input.${setting.key}`);
  }
  return resolved;
}

const DEFAULT_MAX_ITEMS = 16;

/** Checks one value of a setting; `field` names it in the 400 (`input.seed`, `inputs.<id>`). */
export function checkSetting(s: SettingDefinition, value: unknown, field: string): unknown {
  if (!s.multiple) return checkOne(s, value, field);
  const max = s.maxItems ?? DEFAULT_MAX_ITEMS;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) throw bad(field, `must be an array of 1 to ${max} values`);
  return value.map((v, i) => checkOne(s, v, `${field}[${i}]`));
}

function checkOne(s: SettingDefinition, value: unknown, field: string): unknown {
  switch (s.inputType) {
    case 'select':
      if (!(s.options ?? []).includes(value as string | number)) throw bad(field, `must be one of ${(s.options ?? []).join(', ')}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad(field, 'must be true or false');
      return value;
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(field, `must be a number`);
      if (s.inputType === 'integer' && !Number.isInteger(value)) throw bad(field, 'must be a whole number');
      if ((s.min !== undefined && value < s.min) || (s.max !== undefined && value > s.max)) {
        throw bad(field, `must be from ${s.min ?? '-infinity'} to ${s.max ?? 'infinity'}`);
      }
      return value;
    }
    case 'url': {
      if (typeof value !== 'string') throw bad(field, 'must be an http(s) URL');
      let url: URL;
      try { url = new URL(value); } catch { throw bad(field, 'must be an http(s) URL'); }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(field, 'must be an http(s) URL');
      return value;
    }
    case 'text': {
      if (typeof value !== 'string') throw bad(field, 'must be a string');
      const max = s.maxLength ?? DEFAULT_MAX_TEXT;
      if (value.length > max) throw bad(field, `must be at most ${max} characters`);
      return value;
    }
  }
}
