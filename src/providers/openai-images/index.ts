import type { ModelDefinition, ProviderRef } from '../../catalog/model.js';
import { outputField } from '../../catalog/model.js';
import type { Provider, RunContext } from '../provider.js';
import { ProviderError } from '../provider.js';
import { callJson } from '../http/client.js';
import { httpOptions, mapInput, outputOrigins, ProviderConfigError, token, type HttpProviderOptions } from '../http/options.js';
import { copyOutputs, markUpstream, MAX_BYTES } from '../http/outputs.js';
import { fileMarker } from '../../outputs/form.js';

/**
 * An OpenAI-compatible images API (OpenAI itself, or any server that speaks
 * `POST /images/generations`). The call is synchronous: the answer carries the images, so
 * cancelling a run means aborting its request. See docs/providers/openai-images.md.
 */

/** A generation may take minutes (gpt-image-1 at high quality), so one answer may take this long. (Default: 180000 ms) */
const REQUEST_TIMEOUT_MS = 180_000;

interface ImageDatum {
  b64_json?: unknown;
  url?: unknown;
}

export function openaiImagesProvider(ref: ProviderRef, model: ModelDefinition): Provider {
  const options = httpOptions(ref, model.id, { baseUrl: 'https://api.openai.com/v1', tokenEnv: 'OPENAI_API_KEY' });
  if (ref.request_timeout_ms === undefined) options.requestTimeoutMs = REQUEST_TIMEOUT_MS;
  if (typeof ref.model !== 'string' || ref.model === '') {
    throw new ProviderConfigError(`Model ${model.id}: provider.model must name the upstream model, such as "gpt-image-1"`);
  }
  const rf = ref.response_format;
  if (rf !== undefined && rf !== 'b64_json' && rf !== 'url') {
    throw new ProviderConfigError(`Model ${model.id}: provider.response_format must be "b64_json" or "url"`);
  }
  const upstreamModel = ref.model;
  const field = outputField(model.outputType);
  const host = new URL(options.baseUrl).host;
  const service = host === 'api.openai.com' ? 'the OpenAI images API' : `the images API at ${host}`;

  return {
    async run(ctx) {
      const secret = token(options, model.id);
      const body: Record<string, unknown> = {
        n: 1,
        ...mapInput(options, ctx.input),
        model: upstreamModel,
        ...(rf ? { response_format: rf } : {}),
      };
      const answer = await callJson({
        method: 'POST',
        url: `${options.baseUrl}/images/generations`,
        headers: secret ? { authorization: `Bearer ${secret}` } : {},
        body,
        signal: ctx.signal,
        options,
        service,
        final: quotaExhausted,
      });
      const urls = await storeImages(images(answer.body, service), ctx, options, service);
      return { [field]: urls[0], ...(urls.length > 1 ? { outputs: urls } : {}) };
    },
  };
}

/**
 * OpenAI answers 429 both for a busy moment and for an account out of credit
 * (`insufficient_quota`): waiting helps the first, never the second, so that one fails at once.
 */
function quotaExhausted(answer: { status: number; body: unknown }): boolean {
  const error = (answer.body as { error?: { code?: unknown; type?: unknown } } | null)?.error;
  return answer.status === 429 && (error?.code === 'insufficient_quota' || error?.type === 'insufficient_quota');
}

/** The answer's `data` items; an answer without any image is the service's failure, not ours. */
function images(body: unknown, service: string): ImageDatum[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0) {
    throw new ProviderError(`${service} answered without any image`);
  }
  return data.map((d) => (d && typeof d === 'object' ? (d as ImageDatum) : {}));
}

/** Base64 images are always written to our storage (there is nothing else to link to); URLs are copied unless `copy_outputs` is false. */
async function storeImages(items: ImageDatum[], ctx: RunContext, o: HttpProviderOptions, service: string): Promise<unknown[]> {
  return Promise.all(items.map(async (item, i) => {
    if (typeof item.b64_json === 'string' && item.b64_json !== '') {
      const data = Buffer.from(item.b64_json, 'base64');
      return fileMarker(await ctx.files.put({ jobId: ctx.jobId, extension: imageExtension(data), source: data, limit: MAX_BYTES }));
    }
    if (typeof item.url === 'string' && /^(https?:|data:)/.test(item.url)) {
      if (!o.copyOutputs) return markUpstream(item.url);
      return copyOutputs(item.url, { jobId: ctx.jobId, files: ctx.files, signal: ctx.signal, timeoutMs: o.requestTimeoutMs, ...outputOrigins(o) });
    }
    throw new ProviderError(`${service} answered without b64_json or url for image ${i + 1}`);
  }));
}

/** The file type from its first bytes: the API returns png, jpeg or webp (`output_format`). */
function imageExtension(data: Buffer): string {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpg';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  if (data.subarray(0, 4).toString('latin1') === 'GIF8') return 'gif';
  return 'png';
}

