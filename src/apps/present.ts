import type { Catalog } from '../catalog/load.js';
import { appCost, type AppDefinition } from './definition.js';
import type { ResolvedApp } from './directory.js';

/** An app as `GET /api/v1/apps` shows it: the platform's fields, then `cost` and `node_count` (extensions). */
export function presentApp(app: ResolvedApp, catalog: Catalog): Record<string, unknown> {
  const d = app.definition;
  return {
    id: d.id,
    object: 'app',
    name: d.name,
    description: d.description,
    icon: d.icon,
    thumbnail_url: d.thumbnail_url,
    is_template: app.isTemplate,
    tags: d.tags,
    inputs: d.inputs.map((i) => ({ id: i.id, type: i.type, label: i.label, required: i.required, targetHandle: i.targetHandle, allowMultiple: i.allowMultiple })),
    cost: appCost(d, catalog),
    node_count: d.nodes.length,
  };
}

/** An app as the admin API shows it: the listing's fields plus its state and its whole definition. */
export function presentAppForAdmin(app: ResolvedApp, catalog: Catalog): Record<string, unknown> {
  return { ...presentApp(app, catalog), owner_id: app.ownerId, is_active: app.isActive, definition: definitionBody(app.definition) };
}

function definitionBody(d: AppDefinition): Record<string, unknown> {
  return {
    name: d.name, description: d.description, icon: d.icon, thumbnail_url: d.thumbnail_url, tags: d.tags,
    cost: d.cost, timeout_ms: d.timeout_ms, nodes: d.nodes, edges: d.edges, inputs: d.inputs,
  };
}
