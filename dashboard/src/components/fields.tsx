import type { AppInput, Setting } from '../api/types.js';

/** One field of a generated form: built from a model's setting or an app's input. */
export interface FieldSpec {
  key: string;
  label: string;
  kind: 'text' | 'textarea' | 'number' | 'integer' | 'boolean' | 'select' | 'url';
  options?: (string | number)[];
  min?: number;
  max?: number;
  maxLength?: number;
  required?: boolean;
  multiple?: boolean;
  maxItems?: number;
  defaultValue?: unknown;
  hint?: string;
}

export type FieldValue = string | boolean | string[];

export function fromSetting(s: Setting): FieldSpec {
  return {
    key: s.key, label: s.label, kind: s.inputType === 'text' && (s.maxLength ?? 10_000) > 200 ? 'textarea' : s.inputType,
    ...(s.options ? { options: s.options } : {}), ...(s.min !== undefined ? { min: s.min } : {}), ...(s.max !== undefined ? { max: s.max } : {}),
    ...(s.maxLength !== undefined ? { maxLength: s.maxLength } : {}), required: s.required ?? false, multiple: s.multiple ?? false,
    ...(s.maxItems !== undefined ? { maxItems: s.maxItems } : {}), defaultValue: s.defaultValue,
    ...(s.inputType === 'url' ? { hint: s.accepts ? `An http(s) address of ${s.accepts === 'image' ? 'an' : 'a'} ${s.accepts}` : 'An http(s) address' } : {}),
  };
}

export function fromAppInput(i: AppInput): FieldSpec {
  const kind: FieldSpec['kind'] = i.type === 'text' ? 'textarea' : i.type === 'image' || i.type === 'video' || i.type === 'audio' ? 'url' : i.type === 'select' ? 'text' : i.type;
  return {
    key: i.id, label: i.label, kind, required: i.required, multiple: i.allowMultiple,
    ...(kind === 'url' ? { hint: `An http(s) address of ${i.type === 'image' ? 'an' : 'a'} ${i.type}` } : {}),
  };
}

export function initialValue(f: FieldSpec): FieldValue {
  const d = f.defaultValue;
  if (f.multiple) return Array.isArray(d) ? d.map(String) : [''];
  if (f.kind === 'boolean') return d === true;
  return d === null || d === undefined ? '' : String(d);
}

function convert(f: FieldSpec, raw: string): unknown {
  if (f.kind === 'number' || f.kind === 'integer') {
    const n = Number(raw);
    // A value that is not a number goes as typed: the API's message then names the field.
    return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
  }
  if (f.kind === 'select' && f.options) return f.options.find((o) => String(o) === raw) ?? raw;
  return raw;
}

/** The request's values: empty fields left out, numbers as numbers, lists as arrays. */
export function collect(fields: FieldSpec[], values: Record<string, FieldValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = values[f.key];
    if (v === undefined) continue;
    if (f.kind === 'boolean') out[f.key] = v === true;
    else if (Array.isArray(v)) {
      const items = v.filter((x) => x.trim() !== '').map((x) => convert(f, x));
      if (items.length > 0) out[f.key] = items;
    } else if (typeof v === 'string' && v.trim() !== '') out[f.key] = convert(f, v);
  }
  return out;
}

interface ControlProps {
  f: FieldSpec;
  id: string;
  value: string;
  describedBy: string | undefined;
  invalid: boolean;
  label?: string;
  onValue: (v: string) => void;
}

function Control({ f, id, value, describedBy, invalid, label, onValue }: ControlProps) {
  const common = {
    id, 'aria-describedby': describedBy, 'aria-invalid': invalid || undefined, ...(label ? { 'aria-label': label } : {}),
    required: f.required && !f.multiple,
  };
  const onInput = (e: Event) => onValue((e.currentTarget as HTMLInputElement).value);
  if (f.kind === 'select' && f.options) {
    return (
      <select {...common} value={value} onChange={onInput}>
        {!f.required && <option value="">(default)</option>}
        {f.options.map((o) => <option key={String(o)} value={String(o)}>{String(o)}</option>)}
      </select>
    );
  }
  if (f.kind === 'textarea') {
    return <textarea {...common} value={value} rows={3} maxLength={f.maxLength} onInput={onInput} />;
  }
  if (f.kind === 'number' || f.kind === 'integer') {
    return <input {...common} type="number" step={f.kind === 'integer' ? 1 : 'any'} min={f.min} max={f.max} value={value} onInput={onInput} />;
  }
  if (f.kind === 'url') return <input {...common} type="url" value={value} onInput={onInput} />;
  return <input {...common} type="text" maxLength={f.maxLength} value={value} onInput={onInput} />;
}

/** A labelled field with its hint and its error, which screen readers hear with the field. */
export function Field({ f, formId, value, error, onChange }: {
  f: FieldSpec; formId: string; value: FieldValue; error: string | undefined; onChange: (v: FieldValue) => void;
}) {
  const id = `${formId}-${f.key}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const bounds = f.min !== undefined || f.max !== undefined ? `From ${f.min ?? '…'} to ${f.max ?? '…'}` : undefined;
  const hint = [f.hint, bounds, f.multiple ? `A list${f.maxItems ? ` of up to ${f.maxItems}` : ''}` : undefined].filter(Boolean).join('. ');
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  const errorNote = error ? <p class="field-error" id={errorId}>{error}</p> : null;
  const hintNote = hint ? <p class="hint" id={hintId}>{hint}</p> : null;

  if (f.kind === 'boolean') {
    return (
      <div class="field field-check">
        <input type="checkbox" id={id} checked={value === true} aria-describedby={describedBy} aria-invalid={error ? true : undefined}
          onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked)} />
        <label for={id}>{f.label}</label>
        {hintNote}{errorNote}
      </div>
    );
  }
  if (f.multiple) {
    const items = Array.isArray(value) ? value : [''];
    const max = f.maxItems ?? 16;
    return (
      <fieldset class="field" aria-describedby={describedBy}>
        <legend>{f.label}{f.required && <span class="required" aria-hidden="true"> *</span>}</legend>
        {hintNote}
        {items.map((item, n) => (
          <div class="list-item" key={n}>
            <Control f={f} id={n === 0 ? id : `${id}-${n}`} value={item} label={`${f.label} ${n + 1}`} describedBy={undefined} invalid={!!error}
              onValue={(v) => onChange(items.map((x, i) => (i === n ? v : x)))} />
            {items.length > 1 && (
              <button type="button" class="secondary" onClick={() => onChange(items.filter((_, i) => i !== n))} aria-label={`Remove ${f.label} ${n + 1}`}>Remove</button>
            )}
          </div>
        ))}
        {items.length < max && <button type="button" class="secondary" onClick={() => onChange([...items, ''])}>Add {f.label.toLowerCase()}</button>}
        {errorNote}
      </fieldset>
    );
  }
  return (
    <div class="field">
      <label for={id}>{f.label}{f.required && <span class="required" aria-hidden="true"> *</span>}</label>
      <Control f={f} id={id} value={typeof value === 'string' ? value : ''} describedBy={describedBy} invalid={!!error} onValue={onChange} />
      {hintNote}{errorNote}
    </div>
  );
}
