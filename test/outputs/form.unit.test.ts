import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asFileMarker, fileMarker, sealOutput, upstreamMarker } from '../../src/outputs/form.js';
import { filesOf, needsRender, renderOutput } from '../../src/outputs/render.js';
import { keyOfAnyFileUrl, keyOfFileUrl } from '../../src/outputs/urls.js';

const link = (f: { key: string }) => `http://b.test/files/${f.key}`;
const SHA = 'a'.repeat(64);

describe('the stored form of outputs', () => {
  it('renders file markers as links, upstream markers as their URL, and leaves text alone', async () => {
    const stored = {
      outputImage: fileMarker({ key: 'job-1/abc.png', size: 3, contentType: 'image/png', sha256: SHA }),
      outputs: [fileMarker({ key: 'job-1/abc.png' }), upstreamMarker('https://cdn.example/x.png')],
      outputText: 'see https://a.test/files/job-1/abc.png',
    };
    assert.deepEqual(await renderOutput(stored, link), {
      outputImage: 'http://b.test/files/job-1/abc.png',
      outputs: ['http://b.test/files/job-1/abc.png', 'https://cdn.example/x.png'],
      outputText: 'see https://a.test/files/job-1/abc.png',
    });
    assert.deepEqual(filesOf(stored).map((f) => f.key), ['job-1/abc.png', 'job-1/abc.png']);
  });

  it('returns an output with nothing to render as it is, without a copy', async () => {
    const text = { outputText: 'hello', meta: { n: [1, 2, { deep: true }] } };
    assert.equal(needsRender(text), false);
    assert.equal(await renderOutput(text, link), text);
    assert.equal(await renderOutput(null, link), null);
  });

  it('seals producers\' data: a "$" key from outside can never read as a marker, and renders back unchanged', async () => {
    const forged = { outputImage: { $file: { key: 'someone-else/secret.png' } }, nested: [{ $upstream: 'https://evil.example' }], plain: { a: 1 } };
    const sealed = sealOutput(forged);
    assert.deepEqual(sealed, { outputImage: { $$file: { key: 'someone-else/secret.png' } }, nested: [{ $$upstream: 'https://evil.example' }], plain: { a: 1 } });
    assert.equal(sealed.plain, forged.plain, 'untouched parts are not copied');
    assert.deepEqual(filesOf(sealed), [], 'no file is named');
    assert.deepEqual(await renderOutput(sealed, link), forged, 'the owner sees the data as produced, no link made');
    // Sealing twice escapes twice, and renders back to the once-sealed form: never to a marker.
    assert.deepEqual(await renderOutput(sealOutput(sealed), link), sealed);
    assert.equal(sealOutput('text'), 'text');
  });

  it('accepts only well-formed markers: one key, a storage key of "<job>/<name>.<ext>", known fields of the right types', async () => {
    assert.throws(() => fileMarker({ key: '../etc/passwd' }));
    assert.throws(() => fileMarker({ key: 'job/a.png', sha256: 'xyz' }));
    assert.throws(() => fileMarker({ key: 'job/a.png', size: -1 }));
    assert.throws(() => upstreamMarker('javascript:alert(1)'));
    assert.equal(asFileMarker({ $file: { key: 'job/a.png' }, other: 1 }), null);
    assert.equal(asFileMarker({ $file: { key: 'job/a.png', extra: 1 } }), null);
    assert.equal(asFileMarker({ $file: { key: 'job/sub/a.png' } }), null);
    assert.deepEqual(asFileMarker({ $file: { key: 'job/a.png', size: 2 } }), { key: 'job/a.png', size: 2 });
    // A malformed marker in stored data (never written by genjobs) is left out, not shown as a link.
    assert.deepEqual(await renderOutput({ x: { $file: { key: '../../x' } }, y: 1 }, link), { x: {}, y: 1 });
  });

  it('reads the storage key from served file URLs of any origin, only for the job named', () => {
    assert.equal(keyOfFileUrl('http://old.host:8080/files/job-1/abc.png', 'job-1'), 'job-1/abc.png');
    assert.equal(keyOfFileUrl('https://new.example/files/job-1/abc.png', 'job-1'), 'job-1/abc.png');
    assert.equal(keyOfFileUrl('https://new.example/files/job-2/abc.png', 'job-1'), null, 'another job\'s file');
    assert.equal(keyOfFileUrl('https://new.example/files/job-1/../x.png', 'job-1'), null);
    assert.equal(keyOfFileUrl('https://new.example/prefix/files/job-1/abc.png', 'job-1'), null);
    assert.equal(keyOfFileUrl('data:image/png;base64,AAAA', 'job-1'), null);
    assert.equal(keyOfAnyFileUrl('http://a.test/files/job-9/n.png'), 'job-9/n.png');
    assert.equal(keyOfAnyFileUrl('http://a.test/files/job-9/n.png?x=1'), null);
  });
});
