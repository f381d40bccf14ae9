import { UsageError } from '../exit.js';

/** How a model setting or an app input takes its value: its type, and whether it is a list. */
export interface InputShape {
  type: string;
  options?: unknown[];
  list?: boolean;
}

/**
 * Turns `-i key=value` pairs into a run's input. A value is read by the type its model setting
 * (or app input) declares: numbers for `integer`/`number`, true/false for `boolean`, an option's
 * own value for `select`; text otherwise. `key:=json` sends raw JSON. A key given twice, or an
 * input that takes several values, becomes an array.
 */
export function parseInputs(pairs: string[], shapes: Map<string, InputShape>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const built = new Set<string>();
  for (const pair of pairs) {
    const m = /^([^=:]+)(:?=)([\s\S]*)$/.exec(pair);
    if (!m) throw new UsageError(`-i ${pair}: write key=value (or key:=JSON), such as -i prompt="a red fox"`);
    const [, rawKey, op, raw] = m as unknown as [string, string, string, string];
    const key = rawKey.trim();
    const shape = shapes.get(key);
    const value = op === ':=' ? json(key, raw) : typed(key, raw, shape);
    // `built` holds the keys whose value is an array made here, so the next value joins it.
    if (built.has(key)) (out[key] as unknown[]).push(value);
    else if (key in out) {
      out[key] = [out[key], value];
      built.add(key);
    } else if (shape?.list && !Array.isArray(value)) {
      out[key] = [value];
      built.add(key);
    } else out[key] = value;
  }
  return out;
}

function json(key: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new UsageError(`-i ${key}:=…: the value is not JSON (use ${key}=… for text)`);
  }
}

function typed(key: string, raw: string, shape: InputShape | undefined): unknown {
  switch (shape?.type) {
    case 'integer':
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`-i ${key}=${raw}: ${key} takes a number`);
      return n;
    }
    case 'boolean':
      if (/^(true|yes|1)$/i.test(raw)) return true;
      if (/^(false|no|0)$/i.test(raw)) return false;
      throw new UsageError(`-i ${key}=${raw}: ${key} takes true or false`);
    case 'select':
      return shape.options?.find((o) => String(o) === raw) ?? raw;
    default:
      return raw;
  }
}
