import { CatalogError, type Catalog } from '../catalog/load.js';
import type { Store } from '../store/store.js';
import { AppDefinitionError, parseAppDefinition, type AppDefinition } from './definition.js';

/** An app as some account sees it: where it comes from and whether it may be run. */
export interface ResolvedApp {
  definition: AppDefinition;
  /** From the catalog file, visible to every account. */
  isTemplate: boolean;
  ownerId: string | null;
  isActive: boolean;
}

/**
 * Where apps come from: template apps from the catalog file (checked at start, visible to every
 * account) and private apps in the store (one account's, created through the admin API).
 */
export class AppDirectory {
  private readonly templates = new Map<string, AppDefinition>();

  constructor(private readonly catalog: Catalog, private readonly store: Store) {
    for (const [i, raw] of catalog.appTemplates.entries()) {
      try {
        const app = parseAppDefinition(raw, catalog);
        if (this.templates.has(app.id)) throw new AppDefinitionError(`id "${app.id}" is used by two apps`);
        this.templates.set(app.id, app);
      } catch (err) {
        throw new CatalogError(`the catalog's apps[${i}]: ${(err as Error).message}`);
      }
    }
  }

  get templateList(): AppDefinition[] {
    return [...this.templates.values()];
  }

  /** The app `id` if `userId` may run it: a template, or an active private app of that account. */
  async visibleTo(id: string, userId: string): Promise<ResolvedApp | null> {
    const app = await this.find(id);
    if (!app || !app.isActive || (!app.isTemplate && app.ownerId !== userId)) return null;
    return app;
  }

  /** Any app by id, active or not: an accepted run is executed even if its app was deactivated since. */
  async find(id: string): Promise<ResolvedApp | null> {
    const template = this.templates.get(id);
    if (template) return { definition: template, isTemplate: true, ownerId: null, isActive: true };
    const record = await this.store.appGetById({ id });
    if (!record) return null;
    return { definition: parseAppDefinition(record.definition, this.catalog, { id: record.id }), isTemplate: false, ownerId: record.userId, isActive: record.isActive };
  }

  /** What `GET /apps` shows an account: every template, then its active private apps. */
  async listFor(userId: string): Promise<ResolvedApp[]> {
    const own: ResolvedApp[] = [];
    for (const r of await this.store.appListByUser({ userId })) {
      if (!r.isActive) continue;
      try {
        own.push({ definition: parseAppDefinition(r.definition, this.catalog, { id: r.id }), isTemplate: false, ownerId: r.userId, isActive: true });
      } catch {
        // A private app that no longer fits the catalog (a model was removed) cannot run: not listed.
      }
    }
    return [...this.templateList.map((definition) => ({ definition, isTemplate: true, ownerId: null, isActive: true })), ...own];
  }
}
