import path from 'node:path';

/**
 * Output files come from providers and workers, not from genjobs: any of them may be a page
 * with a script in it, and they are served from the API's own origin (which will also serve
 * the dashboard). So no file is ever rendered as active content there: browsers must not guess
 * a type (`nosniff`), a file opened anyway runs in a sandbox without scripts or the origin's
 * cookies (`CSP: sandbox`), and only passive media is shown inline; everything else (HTML, SVG,
 * XML, JavaScript, PDF, unknown types) is a download.
 */
const INLINE_EXTENSIONS = new Set([
  'png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'bmp',
  'mp4', 'webm', 'mov', 'mp3', 'wav', 'ogg', 'flac', 'm4a',
  'txt', 'json', 'glb',
]);

/** Whether a stored output file of this name may be shown inline rather than downloaded. */
export function servedInline(fileName: string): boolean {
  return INLINE_EXTENSIONS.has(path.extname(fileName).slice(1).toLowerCase());
}

/** The headers every output file is served with (`setHeaders` of the static file server). */
export function setOutputFileHeaders(res: { setHeader(name: string, value: string): unknown }, filePath: string): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', 'sandbox');
  if (!servedInline(filePath)) res.setHeader('Content-Disposition', `attachment; filename="${path.basename(filePath)}"`);
}
