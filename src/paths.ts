import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package's root folder, from either `src/` (tsx) or `dist/src/` (built). */
function findRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.endsWith(path.join('dist', 'src')) ? ['..', '..'] : ['..'];
  return path.resolve(here, ...up);
}

export const packageRoot = findRoot();
export const migrationsDir = (dialect: 'sqlite' | 'postgres') => path.join(packageRoot, 'migrations', dialect);
export const defaultCatalogPath = path.join(packageRoot, 'catalog', 'models.json');
