import { createHash } from 'node:crypto';
import { getUser } from '../accounts/admin.js';
import { auditWrite } from '../audit/entry.js';
import { apiError, invalid } from '../errors/api-error.js';
import { newId } from '../ids.js';
import type { Catalog } from '../catalog/load.js';
import type { AuditContext, Store } from '../store/store.js';
import { parseAppDefinition, type AppDefinition } from './definition.js';
import type { AppDirectory, ResolvedApp } from './directory.js';

/** What the audit log keeps of a definition: its name, its size and a digest that tells versions apart; not the whole of it. */
const definitionDetails = (d: AppDefinition) => ({
  name: d.name, nodes: d.nodes.length, definition_sha256: createHash('sha256').update(JSON.stringify(d)).digest('hex'),
});

/** The operator's app use cases: private apps of one account. Templates live in the catalog file. */

export async function createPrivateApp(store: Store, catalog: Catalog, userId: string, body: unknown, audit?: AuditContext, now = Date.now()): Promise<ResolvedApp> {
  await getUser(store, userId);
  const id = newId();
  const definition = parseAppDefinition(body, catalog, { id });
  await store.appCreate({
    id, userId, definition, now,
    audit: auditWrite(audit, { action: 'app.create', targetType: 'app', details: { user_id: userId, ...definitionDetails(definition) } }, now),
  });
  return { definition, isTemplate: false, ownerId: userId, isActive: true };
}

async function privateApp(directory: AppDirectory, appId: string): Promise<ResolvedApp> {
  const app = await directory.find(appId).catch(() => null);
  if (app?.isTemplate) throw apiError('app_is_template', { id: appId });
  if (!app) throw apiError('app_not_found');
  return app;
}

export async function updatePrivateApp(
  store: Store, catalog: Catalog, directory: AppDirectory, appId: string, body: unknown, audit?: AuditContext, now = Date.now(),
): Promise<ResolvedApp> {
  const template = directory.templateList.some((t) => t.id === appId);
  if (template) throw apiError('app_is_template', { id: appId });
  const definition = parseAppDefinition(body, catalog, { id: appId });
  const record = await store.appUpdate({
    id: appId, definition, now, audit: auditWrite(audit, { action: 'app.replace', targetType: 'app', details: definitionDetails(definition) }, now),
  });
  if (!record) throw apiError('app_not_found');
  return { definition, isTemplate: false, ownerId: record.userId, isActive: record.isActive };
}

export async function setPrivateAppActive(
  store: Store, directory: AppDirectory, appId: string, isActive: unknown, audit?: AuditContext, now = Date.now(),
): Promise<ResolvedApp> {
  if (typeof isActive !== 'boolean') throw invalid('is_active', 'must be true or false');
  const app = await privateApp(directory, appId);
  await store.appSetActive({
    id: appId, isActive, now, audit: auditWrite(audit, { action: 'app.update', targetType: 'app', details: { is_active: isActive } }, now),
  });
  return { ...app, isActive };
}

export async function listPrivateApps(store: Store, directory: AppDirectory, userId: string): Promise<ResolvedApp[]> {
  await getUser(store, userId);
  const records = await store.appListByUser({ userId });
  const apps: ResolvedApp[] = [];
  for (const r of records) {
    const app = await directory.find(r.id).catch(() => null);
    if (app) apps.push(app);
  }
  return apps;
}
