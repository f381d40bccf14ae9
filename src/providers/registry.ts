import type { ModelDefinition, ProviderRef } from '../catalog/model.js';
import type { Provider } from './provider.js';
import { builtinProvider } from './builtin/index.js';
import { inlineMedia, type MediaRunner } from './builtin/media-pool.js';
import { replicateProvider } from './replicate/index.js';
import { falProvider } from './fal/index.js';
import { openaiImagesProvider } from './openai-images/index.js';
import { upstreamProvider } from './upstream/index.js';

type Factory = (ref: ProviderRef, model: ModelDefinition) => Provider;

/** Provider types a catalog may name, each with the factory that builds it. */
const factories = (media: MediaRunner): Record<string, Factory> => ({
  builtin: (ref, model) => builtinProvider(ref.name ?? '', model.id, media),
  replicate: replicateProvider,
  fal: falProvider,
  'openai-images': openaiImagesProvider,
  genjobs: upstreamProvider,
  // Remote workers claim these jobs themselves over the worker protocol; the executor skips them.
  worker: (_ref, model) => ({
    run: async () => { throw new Error(`${model.id} runs on remote workers, not in the executor`); },
  }),
});

/** One provider per catalog model, built once at start so a bad catalog stops the start. */
export class ProviderRegistry {
  private readonly byModel = new Map<string, Provider>();

  /**
   * `media` runs the built-in models' rendering: the app passes its worker-thread pool; without
   * it (tools, unit tests) that work runs on the calling thread.
   */
  constructor(models: readonly ModelDefinition[], extra: Record<string, Factory> = {}, media: MediaRunner = inlineMedia) {
    const all = { ...factories(media), ...extra };
    for (const model of models) {
      const factory = all[model.provider.type];
      if (!factory) {
        throw new Error(`Model ${model.id}: unknown provider type "${model.provider.type}" (known: ${Object.keys(all).join(', ')})`);
      }
      this.byModel.set(model.id, factory(model.provider, model));
    }
  }

  forModel(modelId: string): Provider | undefined {
    return this.byModel.get(modelId);
  }
}
