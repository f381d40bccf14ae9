/** A model as the catalog file describes it (see docs/catalog.md). */
export type Modality = 'image' | 'video' | 'audio' | 'text' | '3d';
export const MODALITIES: readonly Modality[] = ['image', 'video', 'audio', 'text', '3d'];

export type SettingType = 'text' | 'number' | 'integer' | 'boolean' | 'select' | 'url';
export const SETTING_TYPES: readonly SettingType[] = ['text', 'number', 'integer', 'boolean', 'select', 'url'];

export interface SettingDefinition {
  /** The key in a run's `input`. */
  key: string;
  label: string;
  inputType: SettingType;
  /** Used when a run leaves the setting out. Absent: the setting is optional and has no value. */
  defaultValue?: unknown;
  /** The allowed values of a `select`. */
  options?: readonly (string | number)[];
  /** Bounds of a `number` or `integer`, inclusive. */
  min?: number;
  max?: number;
  /** Longest `text` accepted, in characters. (Default: 10000) */
  maxLength?: number;
  /** A run without it is refused. (Default: false) */
  required?: boolean;
  /** The value is an array of such values (one or more). (Default: false) */
  multiple?: boolean;
  /** Most values of a `multiple` setting. (Default: 16) */
  maxItems?: number;
  /** What a `url` setting points at: `image`, `video`, `audio` (apps check their edges with it). (Default: anything) */
  accepts?: string;
}

/** Which code produces the model's output. Built-in providers run offline on this machine. */
export interface ProviderRef {
  type: string;
  /** For `builtin`: which built-in renderer. Other types carry their own settings. */
  name?: string;
  [setting: string]: unknown;
}

export interface ModelDefinition {
  /** `owner/name`. */
  id: string;
  name: string;
  modality: Modality;
  description: string;
  /** Credits charged per run. */
  cost: number;
  /** What the model takes: text, image, video, audio. */
  inputTypes: string[];
  promptRequired: boolean;
  /** The kind of its output; the output field is named after it (`image` -> `outputImage`). */
  outputType: string;
  settings: SettingDefinition[];
  provider: ProviderRef;
  /** Whether a run waits for the result (200) instead of answering 202 at once. (Default: false) */
  sync: boolean;
  /** A run still going after this long is failed and refunded. (Default: 300000 ms) */
  timeoutMs: number;
  /** How many runs of this model one executor runs at once. (Default: the executor's concurrency) */
  concurrency: number | null;
}

/** `image` -> `outputImage`: the output field the platform uses for each output type. */
export function outputField(outputType: string): string {
  return `output${outputType.charAt(0).toUpperCase()}${outputType.slice(1)}`;
}
