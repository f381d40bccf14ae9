import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError } from '../api/http.js';
import type { App, Job, Model } from '../api/types.js';
import { ErrorNote, Loading, Section } from '../components/common.js';
import { collect, Field, fromAppInput, fromSetting, initialValue, type FieldSpec, type FieldValue } from '../components/fields.js';
import { formatCredits } from '../format.js';
import { useLoad, useTitle } from '../hooks.js';
import { useUserApi } from '../session.js';

/** The page that lists what can be run: every model of the catalog, then the apps. */
export function Run() {
  useTitle('Run');
  const api = useUserApi();
  const models = useLoad(() => api.models(), [api]);
  const apps = useLoad(() => api.apps(), [api]);
  return (
    <>
      <h1>Run</h1>
      <Section title="Models">
        <ErrorNote error={models.error} />
        {!models.data && !models.error && <Loading what="models" />}
        <ul class="choices">
          {models.data?.data.map((m) => (
            <li key={m.id}>
              <a href={`/run/model/${m.id}`}><strong>{m.name}</strong> <code>{m.id}</code></a>
              <p class="muted small">{m.description} {formatCredits(m.cost)} a run; {m.outputType} output.</p>
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Apps">
        <ErrorNote error={apps.error} />
        <ul class="choices">
          {apps.data?.data.map((a) => (
            <li key={a.id}>
              <a href={`/run/app/${a.id}`}><strong>{a.name}</strong></a>
              <p class="muted small">{a.description} {formatCredits(a.cost)} a run.</p>
            </li>
          ))}
        </ul>
      </Section>
    </>
  );
}

const WEBHOOK: FieldSpec = { key: 'webhook_url', label: 'Webhook address (optional)', kind: 'url', hint: 'Called, signed, when the job ends' };

/**
 * A run form: fields from the model's settings or the app's inputs, then the webhook address.
 * The API checks the values; a refusal that names a field is shown next to that field.
 */
function RunForm({ formId, fields, cost, submit, labels }: {
  formId: string; fields: FieldSpec[]; cost: number; labels: Record<string, string>;
  submit: (values: Record<string, unknown>, webhookUrl: string | undefined) => Promise<Job>;
}) {
  const { route } = useLocation();
  const all = useMemo(() => [...fields, WEBHOOK], [fields]);
  const [values, setValues] = useState<Record<string, FieldValue>>(() => Object.fromEntries(all.map((f) => [f.key, initialValue(f)])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Fresh values only when the fields change (another model or app), never on the first paint:
  // that would erase what was typed (or filled in by the browser) before the effect ran.
  const madeFor = useRef(all);
  useEffect(() => {
    if (madeFor.current === all) return;
    madeFor.current = all;
    setValues(Object.fromEntries(all.map((f) => [f.key, initialValue(f)])));
  }, [all]);

  const onSubmit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const webhook = typeof values.webhook_url === 'string' && values.webhook_url.trim() ? values.webhook_url.trim() : undefined;
      const job = await submit(collect(fields, values), webhook);
      route(`/jobs/${job.id}`);
    } catch (err) {
      const found = placeError(err, all, labels);
      setErrors(found.fields);
      setFormError(found.form);
      const first = Object.keys(found.fields)[0];
      document.getElementById(first ? `${formId}-${first}` : `${formId}-error`)?.focus();
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" onSubmit={onSubmit} noValidate aria-describedby={formError ? `${formId}-error` : undefined}>
      {formError && <p class="note note-error" id={`${formId}-error`} role="alert" tabIndex={-1}>{formError}</p>}
      {all.map((f) => (
        <Field key={f.key} f={f} formId={formId} value={values[f.key] ?? initialValue(f)} error={errors[f.key]}
          onChange={(v) => setValues((old) => ({ ...old, [f.key]: v }))} />
      ))}
      <button type="submit" disabled={busy}>{busy ? 'Starting…' : `Run for ${formatCredits(cost)}`}</button>
    </form>
  );
}

/**
 * Where an API refusal belongs: `input.seed: …` / `inputs.prompt: …` / `webhook_url: …` next to
 * that field, `Missing required inputs: Prompt` next to each field named, anything else on top.
 */
function placeError(err: unknown, fields: FieldSpec[], labels: Record<string, string>): { fields: Record<string, string>; form: string | null } {
  if (!(err instanceof ApiError)) return { fields: {}, form: (err as Error).message };
  const keys = new Set(fields.map((f) => f.key));
  if (err.field) {
    const key = err.field.replace(/^inputs?\./, '').split('.')[0] ?? '';
    if (keys.has(key)) return { fields: { [key]: err.message.slice(err.field.length + 2) }, form: null };
  }
  if (err.code === 'missing_inputs') {
    const named = err.message.replace(/^[^:]*:\s*/, '').split(',').map((s) => s.trim());
    const found = Object.fromEntries(named.map((label) => [labels[label] ?? '', 'Required']).filter(([k]) => keys.has(k as string)));
    if (Object.keys(found).length > 0) return { fields: found, form: err.message };
  }
  return { fields: {}, form: err.message };
}

export function RunModel({ owner, name }: { owner: string; name: string }) {
  const id = `${owner}/${name}`;
  useTitle(`Run ${id}`);
  const api = useUserApi();
  const models = useLoad(() => api.models(), [api]);
  const model = models.data?.data.find((m: Model) => m.id === id);
  const fields = useMemo(() => {
    if (!model) return [];
    const prompt: FieldSpec[] = model.promptRequired || model.inputTypes.includes('text')
      ? [{ key: 'prompt', label: 'Prompt', kind: 'textarea', required: model.promptRequired }]
      : [];
    return [...prompt, ...model.settings.map(fromSetting)];
  }, [model]);
  if (models.error) return <><h1>Run {id}</h1><ErrorNote error={models.error} /></>;
  if (!models.data) return <Loading what="the model" />;
  if (!model) return <><h1>Run {id}</h1><p>There is no model {id} in the catalog. <a href="/run">See what you can run</a>.</p></>;
  return (
    <>
      <h1>Run {model.name}</h1>
      <p class="muted">{model.description} <code>{model.id}</code></p>
      <RunForm formId="run" fields={fields} cost={model.cost} labels={Object.fromEntries(fields.map((f) => [f.label, f.key]))}
        submit={(input, webhookUrl) => api.runModel(model.id, input, webhookUrl ? { webhookUrl } : {})} />
    </>
  );
}

export function RunApp({ id }: { id: string }) {
  const api = useUserApi();
  const apps = useLoad(() => api.apps(), [api]);
  const app = apps.data?.data.find((a: App) => a.id === id);
  useTitle(`Run ${app?.name ?? 'an app'}`);
  const fields = useMemo(() => (app ? app.inputs.map(fromAppInput) : []), [app]);
  if (apps.error) return <><h1>Run an app</h1><ErrorNote error={apps.error} /></>;
  if (!apps.data) return <Loading what="the app" />;
  if (!app) return <><h1>Run an app</h1><p>There is no app {id} you can run. <a href="/run">See what you can run</a>.</p></>;
  return (
    <>
      <h1>Run {app.name}</h1>
      {app.description && <p class="muted">{app.description}</p>}
      <RunForm formId="run" fields={fields} cost={app.cost} labels={Object.fromEntries(app.inputs.map((i) => [i.label, i.id]))}
        submit={(inputs, webhookUrl) => api.runApp(app.id, inputs, webhookUrl ? { webhookUrl } : {})} />
    </>
  );
}
