import { defineConfig } from 'vite';

// The dashboard is served by the genjobs server under a strict CSP (script-src 'self';
// style-src 'self'): the build must emit no inline script or style and load nothing from
// elsewhere. Assets are never inlined as data: URLs, and the module-preload polyfill (an inline
// helper in older setups) is left out: every browser the dashboard supports preloads modules.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  server: {
    // `npm run dev -w dashboard` next to `npm start`: the APIs are proxied to the server.
    proxy: Object.fromEntries(['/api', '/admin', '/files', '/healthz'].map((p) => [p, 'http://localhost:8080'])),
  },
});
