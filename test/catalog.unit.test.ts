import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogError, loadCatalog, parseCatalog } from '../src/catalog/load.js';
import type { ModelDefinition } from '../src/catalog/model.js';
import { resolveInput } from '../src/catalog/validate-input.js';
import { ApiError } from '../src/errors/api-error.js';
import { defaultCatalogPath } from '../src/paths.js';

/** A valid model entry; `over` replaces fields. */
function entry(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'acme/thing', name: 'Thing', modality: 'image', cost: 3, provider: { type: 'builtin', name: 'image' }, ...over };
}

function parseOne(over: Record<string, unknown>): ModelDefinition {
  const [model] = parseCatalog({ models: [entry(over)] }, 'test.json');
  assert.ok(model);
  return model;
}

/** Asserts that parsing throws a CatalogError whose message names the source and `where`. */
function assertCatalogError(raw: unknown, where: string, says?: RegExp): void {
  assert.throws(() => parseCatalog(raw, 'test.json'), (err: unknown) => {
    assert.ok(err instanceof CatalogError, `expected a CatalogError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`test.json: ${where} `), `"${err.message}" should name ${where}`);
    if (says) assert.match(err.message, says);
    return true;
  });
}

describe('the bundled catalog', () => {
  const catalog = loadCatalog(defaultCatalogPath);

  it('has the five local models with their modality, sync flag and cost', () => {
    const expected: [string, string, boolean][] = [
      ['local/image', 'image', true],
      ['local/video', 'video', false],
      ['local/audio', 'audio', false],
      ['local/text', 'text', true],
      ['local/test', 'text', false],
    ];
    for (const [id, modality, sync] of expected) {
      const m = catalog.get(id);
      assert.ok(m, `${id} is missing`);
      assert.equal(m.modality, modality, id);
      assert.equal(m.sync, sync, `${id} sync`);
      assert.equal(m.provider.type, 'builtin', id);
      assert.ok(Number.isInteger(m.cost) && m.cost >= 0, id);
    }
    assert.equal(catalog.get('local/test')?.cost, 1);
    assert.equal(catalog.get('local/nothing'), undefined);
  });

  it('gives local/test its duration_ms, outcome and error_message settings', () => {
    const m = catalog.get('local/test');
    assert.ok(m);
    assert.equal(m.promptRequired, false);
    const byKey = new Map(m.settings.map((s) => [s.key, s]));
    assert.deepEqual([...byKey.keys()].sort(), ['duration_ms', 'error_message', 'outcome']);
    const duration = byKey.get('duration_ms');
    assert.equal(duration?.inputType, 'integer');
    assert.equal(duration?.min, 0);
    assert.equal(duration?.max, 600_000);
    assert.equal(duration?.defaultValue, 0);
    const outcome = byKey.get('outcome');
    assert.equal(outcome?.inputType, 'select');
    assert.deepEqual(outcome?.options, ['completed', 'failed']);
    assert.equal(outcome?.defaultValue, 'completed');
    const message = byKey.get('error_message');
    assert.equal(message?.inputType, 'text');
    assert.equal(message?.defaultValue, undefined);
    assert.ok(m.timeoutMs > 600_000, 'local/test outlives its longest duration_ms');
  });

  it('throws a CatalogError naming the file when it cannot be read', () => {
    assert.throws(() => loadCatalog('/nonexistent/models.json'), (err: unknown) =>
      err instanceof CatalogError && err.message.includes('/nonexistent/models.json'));
  });
});

describe('parseCatalog', () => {
  it('reads a minimal model with its defaults', () => {
    const m = parseOne({});
    assert.equal(m.id, 'acme/thing');
    assert.equal(m.cost, 3);
    assert.equal(m.sync, false);
    assert.equal(m.promptRequired, false);
    assert.equal(m.outputType, 'image');
    assert.deepEqual(m.inputTypes, ['text']);
    assert.deepEqual(m.settings, []);
    assert.equal(m.timeoutMs, 300_000);
    assert.equal(m.concurrency, null);
  });

  it('refuses a top level without a models array', () => {
    assertCatalogError({}, 'the top level');
    assertCatalogError([], 'the top level');
  });

  it('refuses an id that is not owner/name, naming models[i].id', () => {
    assertCatalogError({ models: [entry(), entry({ id: 'no-slash' })] }, 'models[1].id', /owner\/name/);
    assertCatalogError({ models: [entry({ id: 'a/b/c' })] }, 'models[0].id');
    assertCatalogError({ models: [entry({ id: '' })] }, 'models[0].id');
  });

  it('refuses a negative or fractional cost, naming models[i].cost', () => {
    assertCatalogError({ models: [entry({ cost: -1 })] }, 'models[0].cost');
    assertCatalogError({ models: [entry({ cost: 1.5 })] }, 'models[0].cost');
    assertCatalogError({ models: [entry({ cost: '3' })] }, 'models[0].cost');
  });

  it('refuses an unknown modality, naming models[i].modality', () => {
    assertCatalogError({ models: [entry({ modality: 'smell' })] }, 'models[0].modality', /image, video, audio, text, 3d/);
  });

  it('refuses a select without options, naming the setting\'s options', () => {
    assertCatalogError({ models: [entry({ settings: [{ key: 'size', inputType: 'select' }] })] }, 'models[0].settings[0].options');
    assertCatalogError({ models: [entry({ settings: [{ key: 'size', inputType: 'select', options: [] }] })] }, 'models[0].settings[0].options');
  });

  it('refuses a default that its own setting would refuse', () => {
    const setting = (s: object) => ({ models: [entry({ settings: [s] })] });
    assertCatalogError(setting({ key: 'size', inputType: 'select', options: ['s', 'm'], defaultValue: 'xl' }), 'models[0].settings[0].defaultValue', /options/);
    assertCatalogError(setting({ key: 'n', inputType: 'integer', min: 1, max: 5, defaultValue: 9 }), 'models[0].settings[0].defaultValue');
    assertCatalogError(setting({ key: 'n', inputType: 'integer', defaultValue: 1.5 }), 'models[0].settings[0].defaultValue');
    assertCatalogError(setting({ key: 'b', inputType: 'boolean', defaultValue: 'yes' }), 'models[0].settings[0].defaultValue');
    assertCatalogError(setting({ key: 't', inputType: 'text', defaultValue: 3 }), 'models[0].settings[0].defaultValue');
  });

  it('refuses a model id defined twice', () => {
    assertCatalogError({ models: [entry(), entry({ name: 'Other' })] }, 'model "acme/thing"', /defined twice/);
  });

  it('refuses a setting named prompt', () => {
    assertCatalogError({ models: [entry({ settings: [{ key: 'prompt', inputType: 'text' }] })] }, 'models[0].settings[0].key', /prompt/);
  });

  it('refuses a setting of an unknown type or with a bad key', () => {
    assertCatalogError({ models: [entry({ settings: [{ key: 'x', inputType: 'colour' }] })] }, 'models[0].settings[0].inputType');
    assertCatalogError({ models: [entry({ settings: [{ key: 'a b', inputType: 'text' }] })] }, 'models[0].settings[0].key');
  });

  it('refuses a model without a provider, or a non-positive timeout', () => {
    assertCatalogError({ models: [entry({ provider: undefined })] }, 'models[0].provider');
    assertCatalogError({ models: [entry({ timeout_ms: 0 })] }, 'models[0].timeout_ms');
  });
});

describe('resolveInput', () => {
  const catalog = loadCatalog(defaultCatalogPath);
  const image = catalog.get('local/image') as ModelDefinition;
  const test = catalog.get('local/test') as ModelDefinition;
  /** A model with one setting of every type. */
  const every = parseOne({
    id: 'acme/every',
    promptRequired: false,
    settings: [
      { key: 'size', inputType: 'select', options: ['s', 'm', 'l'], defaultValue: 'm' },
      { key: 'steps', inputType: 'integer', min: 1, max: 50, defaultValue: 20 },
      { key: 'strength', inputType: 'number', min: 0, max: 1 },
      { key: 'hd', inputType: 'boolean', defaultValue: false },
      { key: 'ref', inputType: 'url' },
      { key: 'caption', inputType: 'text', maxLength: 10 },
      { key: 'needed', inputType: 'text', required: true },
    ],
  });

  /** Asserts an ApiError 400 whose message starts with `field`. */
  function assertRefused(model: ModelDefinition, input: unknown, field: string): void {
    assert.throws(() => resolveInput(model, input), (err: unknown) => {
      assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'invalid_input');
      assert.ok(err.message.startsWith(`${field}:`), `"${err.message}" should start with "${field}:"`);
      return true;
    }, `${JSON.stringify(input)} should be refused naming ${field}`);
  }

  it('fills in the defaults of the settings left out', () => {
    assert.deepEqual(resolveInput(image, { prompt: 'a cat' }), { prompt: 'a cat', aspect_ratio: '1:1', seed: 0 });
    assert.deepEqual(resolveInput(test, undefined), { duration_ms: 0, outcome: 'completed' });
    assert.deepEqual(resolveInput(test, { outcome: 'failed', error_message: 'boom', duration_ms: null }), {
      duration_ms: 0, outcome: 'failed', error_message: 'boom',
    });
    assert.deepEqual(resolveInput(every, { needed: 'x', strength: 0.5, ref: 'https://example.com/a.png' }), {
      size: 'm', steps: 20, strength: 0.5, hd: false, ref: 'https://example.com/a.png', needed: 'x',
    });
  });

  it('requires the prompt of a model whose prompt is required', () => {
    assertRefused(image, {}, 'input.prompt');
    assertRefused(image, undefined, 'input.prompt');
    assertRefused(image, { prompt: '   ' }, 'input.prompt');
    assertRefused(image, { prompt: 42 }, 'input.prompt');
    assertRefused(test, { prompt: ['x'] }, 'input.prompt');
    assertRefused(image, { prompt: 'x'.repeat(10_001) }, 'input.prompt');
  });

  it('refuses an input that is not an object', () => {
    assertRefused(test, 'a cat', 'input');
    assertRefused(test, [1], 'input');
  });

  it('refuses a value outside a select\'s options', () => {
    assertRefused(image, { prompt: 'x', aspect_ratio: '2:1' }, 'input.aspect_ratio');
    assertRefused(test, { outcome: 'cancelled' }, 'input.outcome');
    assertRefused(every, { needed: 'x', size: true }, 'input.size');
  });

  it('refuses an integer setting given a fraction, a string or a value out of range', () => {
    assertRefused(test, { duration_ms: 1.5 }, 'input.duration_ms');
    assertRefused(test, { duration_ms: '100' }, 'input.duration_ms');
    assertRefused(test, { duration_ms: -1 }, 'input.duration_ms');
    assertRefused(test, { duration_ms: 600_001 }, 'input.duration_ms');
    assert.equal(resolveInput(test, { duration_ms: 600_000 }).duration_ms, 600_000);
    assertRefused(image, { prompt: 'x', seed: 2_147_483_648 }, 'input.seed');
  });

  it('refuses a number setting out of its range or not finite', () => {
    assertRefused(every, { needed: 'x', strength: 1.01 }, 'input.strength');
    assertRefused(every, { needed: 'x', strength: -0.1 }, 'input.strength');
    assertRefused(every, { needed: 'x', strength: '0.5' }, 'input.strength');
    assert.equal(resolveInput(every, { needed: 'x', strength: 1 }).strength, 1);
  });

  it('refuses a boolean setting given anything but true or false', () => {
    assertRefused(every, { needed: 'x', hd: 'true' }, 'input.hd');
    assertRefused(every, { needed: 'x', hd: 1 }, 'input.hd');
    assert.equal(resolveInput(every, { needed: 'x', hd: true }).hd, true);
  });

  it('refuses a url setting that is not an http(s) URL', () => {
    assertRefused(every, { needed: 'x', ref: 'not a url' }, 'input.ref');
    assertRefused(every, { needed: 'x', ref: 'file:///etc/passwd' }, 'input.ref');
    assertRefused(every, { needed: 'x', ref: 42 }, 'input.ref');
  });

  it('refuses a text setting longer than its maxLength or not a string', () => {
    assertRefused(every, { needed: 'x', caption: 'x'.repeat(11) }, 'input.caption');
    assert.equal(resolveInput(every, { needed: 'x', caption: 'x'.repeat(10) }).caption, 'x'.repeat(10));
    assertRefused(every, { needed: 'x', caption: 5 }, 'input.caption');
    assertRefused(test, { error_message: 'x'.repeat(2_001) }, 'input.error_message');
  });

  it('refuses a missing required setting', () => {
    assertRefused(every, {}, 'input.needed');
  });

  it('refuses a key that is not a setting of the model, listing its settings', () => {
    assertRefused(test, { colour: 'red' }, 'input.colour');
    assert.throws(() => resolveInput(test, { colour: 'red' }), /duration_ms, outcome, error_message/);
    assertRefused(image, { prompt: 'x', duration_ms: 5 }, 'input.duration_ms');
  });
});
