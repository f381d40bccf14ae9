import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api/http.js';

/**
 * A small operator form: runs `action` on submit, shows its refusal (next to the field it
 * names, through `fieldError`, or on top) and resets on success.
 */
export function SimpleForm({ id, title, submitLabel, action, children, fieldError }: {
  id: string;
  title: string;
  submitLabel: string;
  action: (form: HTMLFormElement) => Promise<void>;
  children: ComponentChildren;
  fieldError?: (field: string, message: string) => boolean;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setBusy(true);
    setError(null);
    try {
      await action(form);
      form.reset();
    } catch (err) {
      const placed = err instanceof ApiError && err.field && fieldError?.(err.field, err.message);
      if (!placed) setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" aria-labelledby={`${id}-title`} onSubmit={onSubmit} noValidate>
      <h2 id={`${id}-title`}>{title}</h2>
      {error && <p class="note note-error" role="alert">{error}</p>}
      {children}
      <button type="submit" disabled={busy}>{busy ? 'Working…' : submitLabel}</button>
    </form>
  );
}

/** A form field's value by name. */
export const valueOf = (form: HTMLFormElement, name: string): string =>
  ((form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '').trim();

export const checkedOf = (form: HTMLFormElement, name: string): boolean =>
  (form.elements.namedItem(name) as HTMLInputElement | null)?.checked ?? false;

/** A number field's value: a number when it reads as one, else the text (the API names the field). */
export const numberOf = (form: HTMLFormElement, name: string): number | string | undefined => {
  const raw = valueOf(form, name);
  if (raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : raw;
};
