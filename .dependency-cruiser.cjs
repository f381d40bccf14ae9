// The layer picture of docs/architecture.md ("Layers"), checked by dependency-cruiser:
// `npx depcruise src` here, and test/architecture/layers.unit.test.ts in `npm test`.
// Each folder (or top-level file) of src/ may import only the folders listed for it; every
// folder may import the foundation. Type-only imports count: a layer picture is about what a
// module has to know, not only what it loads at run time. Cycles are refused everywhere.
const fs = require('node:fs');

/** Anyone may import these: they know nothing of the rest. */
const foundation = ['errors', 'ids.ts', 'paths.ts', 'times.ts', 'types', 'http', 'background', 'outputs'];

/** Folder (or top-level file) of src/ -> what else it may import. */
const layers = {
  // foundation
  errors: [], 'ids.ts': [], 'paths.ts': [], 'times.ts': [], types: [], http: [], background: [], outputs: [],
  config: [],
  // storage
  ratelimit: [],
  store: ['ratelimit'],
  // what jobs are run with
  catalog: [],
  files: [],
  providers: ['catalog', 'files'],
  // use cases
  credits: ['store'],
  audit: ['store'],
  accounts: ['store', 'ratelimit', 'credits', 'audit'],
  jobs: ['store', 'catalog'],
  apps: ['store', 'catalog', 'providers', 'files', 'accounts', 'audit'],
  webhooks: ['store', 'jobs'],
  runs: ['store', 'catalog', 'jobs', 'apps'],
  workers: ['store', 'catalog', 'files', 'accounts', 'jobs', 'runs', 'audit'],
  // background services
  executor: ['store', 'catalog', 'files', 'providers', 'jobs', 'apps', 'runs'],
  maintenance: ['store', 'jobs'],
  // operations: readiness, logs and metrics
  health: ['store'],
  observability: ['store', 'jobs'],
  // backups of the store and the output files
  backup: ['store'],
  // entry points
  api: ['config', 'store', 'catalog', 'files', 'credits', 'audit', 'accounts', 'jobs', 'apps', 'webhooks', 'runs', 'workers', 'health', 'observability'],
  'app.ts': ['*'],
  cli: ['*'],
};

const name = (entry) => entry.replace(/\./g, '\\.');
const under = (entry) => (entry.endsWith('.ts') ? `^src/${name(entry)}$` : `^src/${name(entry)}/`);
const anyOf = (entries) => `^src/(${entries.map((e) => (e.endsWith('.ts') ? name(e) + '$' : name(e) + '/')).join('|')})`;

const allowed = [
  // Node's own modules and installed packages.
  { from: {}, to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg'] } },
  // Within one folder.
  ...Object.keys(layers).filter((e) => !e.endsWith('.ts')).map((e) => ({ from: { path: under(e) }, to: { path: under(e) } })),
  ...Object.entries(layers).map(([entry, may]) => ({
    from: { path: under(entry) },
    to: { path: may.includes('*') ? '^src/' : anyOf([...foundation, ...may]) },
  })),
];

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules must not import each other, directly or through others: layers only point down.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'routes-use-use-cases',
      comment: 'The API reaches the store through use cases; it may name the store\'s record types and errors only.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/store/', pathNot: '^src/store/errors\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-resolvable',
      comment: 'An import that resolves to nothing.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  allowed,
  allowedSeverity: 'error',
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    ...(fs.existsSync('tsconfig.json') ? { tsConfig: { fileName: 'tsconfig.json' } } : {}),
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
