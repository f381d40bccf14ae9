import type { ModelDefinition } from './model.js';

/** A model as `GET /api/v1/models` shows it: the platform's fields, then genjobs' (`sync`, bounds). */
export function presentModel(m: ModelDefinition): Record<string, unknown> {
  return {
    id: m.id,
    name: m.name,
    modality: m.modality,
    cost: m.cost,
    inputTypes: m.inputTypes,
    promptRequired: m.promptRequired,
    outputType: m.outputType,
    description: m.description,
    settings: m.settings.map((s) => ({
      key: s.key,
      label: s.label,
      inputType: s.inputType,
      defaultValue: s.defaultValue ?? null,
      ...(s.options ? { options: s.options } : {}),
      ...(s.min !== undefined ? { min: s.min } : {}),
      ...(s.max !== undefined ? { max: s.max } : {}),
      ...(s.required ? { required: true } : {}),
      // extensions, so a form can be built from the setting alone
      ...(s.maxLength !== undefined ? { maxLength: s.maxLength } : {}),
      ...(s.multiple ? { multiple: true, maxItems: s.maxItems ?? 16 } : {}),
      ...(s.accepts !== undefined ? { accepts: s.accepts } : {}),
    })),
    sync: m.sync,
  };
}
