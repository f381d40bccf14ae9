import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../helpers/app.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';

describe('output files under /files/', () => {
  it('are never active content on the API origin: nosniff and a sandbox on every file, scriptable types as downloads', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const files = new LocalFileStorage(app.dataDir);
    const page = '<html><script>fetch("/api/v1/account")</script></html>';
    const cases: Array<[string, string, boolean]> = [
      ['html', page, true], ['htm', page, true], ['svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', true],
      ['xml', '<?xml version="1.0"?><x/>', true], ['xhtml', page, true], ['js', 'alert(1)', true], ['mjs', 'alert(1)', true],
      ['pdf', '%PDF-1.4', true], ['bin', page, true],
      ['png', 'not really a png', false], ['wav', 'RIFF', false], ['txt', page, false], ['json', '{}', false],
    ];
    for (const [extension, content, download] of cases) {
      const { key } = await files.put({ jobId: 'job1', extension, source: Buffer.from(content), limit: 1_000 });
      const res = await app.server.inject({ method: 'GET', url: `/files/${key}` });
      assert.equal(res.statusCode, 200, extension);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', extension);
      assert.equal(res.headers['content-security-policy'], 'sandbox', extension);
      const disposition = res.headers['content-disposition'];
      if (download) assert.match(String(disposition), /^attachment; filename="[\w-]+\.\w+"$/, extension);
      else assert.equal(disposition, undefined, `${extension} is shown inline`);
    }
  });
});
