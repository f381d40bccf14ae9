import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import {
  FileSizeError, FileTypeError, UnsatisfiableRangeError, validKey,
  type FileStorage, type OpenedFile,
} from '../../src/files/storage.js';

/** One adapter under test, and a look behind it: every name it holds under a job (hidden ones too). */
export interface StorageUnderTest {
  storage: FileStorage;
  /** Names the backend holds under `<jobId>/`, read from the backend itself (the folder, the bucket). */
  names(jobId: string): Promise<string[]>;
  /** Made with `deleteBatch` 2 where the adapter deletes in batches, so deleteJob has to loop. */
  dispose(): Promise<void>;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** `count` chunks of `size` bytes, each different, as a stream that arrives piece by piece. */
function chunks(count: number, size: number): { source: Readable; bytes: () => Buffer } {
  const parts = Array.from({ length: count }, (_, i) => Buffer.alloc(size, (i * 37 + 11) % 256));
  return { source: Readable.from(parts, { objectMode: false }), bytes: () => Buffer.concat(parts) };
}

async function bodyOf(file: OpenedFile | null): Promise<Buffer> {
  assert.ok(file, 'the file opens');
  const parts: Buffer[] = [];
  for await (const part of file.body) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

let jobs = 0;
/** A job id of its own for each test, so tests never see each other's files. */
const newJob = (): string => `job-${process.pid}-${++jobs}`;

/** The behaviour every FileStorage adapter must have; `make` gives a fresh adapter on an empty backend. */
export function fileStorageConformance(name: string, make: () => Promise<StorageUnderTest>): void {
  describe(`file storage conformance: ${name}`, () => {
    let t: StorageUnderTest;
    let files: FileStorage;
    before(async () => {
      t = await make();
      files = t.storage;
    });
    after(() => t.dispose());

    it('stores bytes under a new key of the job, with their size, type and SHA-256, and reads them back', async () => {
      const jobId = newJob();
      const bytes = Buffer.from('\x89PNG not really an image');
      const stored = await files.put({ jobId, extension: 'png', source: bytes, limit: 1_000 });
      assert.ok(validKey(stored.key), stored.key);
      assert.ok(stored.key.startsWith(`${jobId}/`) && stored.key.endsWith('.png'), stored.key);
      assert.deepEqual({ size: stored.size, contentType: stored.contentType, sha256: stored.sha256 }, { size: bytes.length, contentType: 'image/png', sha256: sha256(bytes) });
      assert.deepEqual(await files.read(stored.key, 1_000), bytes);
      const again = await files.put({ jobId, extension: 'png', source: new Uint8Array(bytes), limit: 1_000 });
      assert.notEqual(again.key, stored.key, 'each put makes a new key');
      assert.deepEqual((await t.names(jobId)).sort(), [stored.key, again.key].map((k) => k.slice(jobId.length + 1)).sort());
    });

    it('streams a file of many chunks (more than one multipart part) and counts and hashes it on the way', async () => {
      const jobId = newJob();
      const { source, bytes } = chunks(20, 512 * 1024);
      const stored = await files.put({ jobId, extension: 'mp4', source, limit: 64 * 1024 * 1024 });
      assert.equal(stored.size, 10 * 1024 * 1024);
      assert.equal(stored.sha256, sha256(bytes()));
      assert.equal(stored.contentType, 'video/mp4');
      const opened = await files.open(stored.key);
      assert.equal(opened?.size, stored.size);
      assert.equal(sha256(await bodyOf(opened)), stored.sha256);
    });

    it('opens a file whole with its size, content type, a quoted ETag that does not change, and its time', async () => {
      const stored = await files.put({ jobId: newJob(), extension: 'txt', source: Buffer.from('hello, storage'), limit: 100 });
      const first = await files.open(stored.key);
      assert.ok(first);
      assert.equal(first.range, undefined);
      assert.deepEqual({ size: first.size, contentType: first.contentType }, { size: 14, contentType: 'text/plain' });
      assert.match(first.etag, /^"[^"]+"$/);
      assert.ok(first.lastModified instanceof Date && Math.abs(first.lastModified.getTime() - Date.now()) < 3_600_000);
      assert.equal(await text(first.body), 'hello, storage');
      const head = await files.head(stored.key);
      const second = await files.open(stored.key);
      assert.deepEqual(head, { size: 14, contentType: 'text/plain', etag: first.etag, lastModified: first.lastModified });
      assert.equal(second?.etag, first.etag);
      second?.body.destroy();
    });

    it('opens byte ranges as HTTP reads them: inclusive, open-ended, cut at the end, suffixes', async () => {
      const bytes = Buffer.from('0123456789abcdefghij');
      const { key } = await files.put({ jobId: newJob(), extension: 'bin', source: bytes, limit: 100 });
      const cases: Array<[Parameters<FileStorage['open']>[1], string, { start: number; end: number }]> = [
        [{ start: 5, end: 9 }, '56789', { start: 5, end: 9 }],
        [{ start: 0, end: 0 }, '0', { start: 0, end: 0 }],
        [{ start: 15 }, 'fghij', { start: 15, end: 19 }],
        [{ start: 18, end: 500 }, 'ij', { start: 18, end: 19 }],
        [{ suffix: 3 }, 'hij', { start: 17, end: 19 }],
        [{ suffix: 50 }, bytes.toString(), { start: 0, end: 19 }],
      ];
      for (const [range, expected, served] of cases) {
        const opened = await files.open(key, range);
        assert.deepEqual(opened?.range, served, JSON.stringify(range));
        assert.equal(opened?.size, 20, 'size stays the whole file\'s');
        assert.equal((await bodyOf(opened)).toString(), expected, JSON.stringify(range));
      }
      for (const range of [{ start: 20 }, { start: 99, end: 120 }, { suffix: 0 }]) {
        await assert.rejects(files.open(key, range), (err: unknown) => err instanceof UnsatisfiableRangeError && err.size === 20, JSON.stringify(range));
      }
    });

    it('answers null for a file that is not there and for keys of any other shape, without touching anything else', async () => {
      const { key } = await files.put({ jobId: newJob(), extension: 'png', source: Buffer.from('x'), limit: 10 });
      const missing = `${key.split('/')[0]}/AAAAAAAAAAAA.png`;
      for (const k of [missing, 'nojob/none.png', '../etc/passwd', `${key}/x`, key.replace('/', '/../'), `/${key}`, '', 'a/.hidden.png', `${key.split('/')[0]}`]) {
        assert.equal(await files.open(k), null, k);
        assert.equal(await files.head(k), null, k);
        assert.equal(await files.read(k, 100), null, k);
      }
      assert.equal(await files.open(missing, { start: 5 }), null, 'a range of a missing file is still missing');
    });

    it('refuses an empty file, from a buffer or a stream, before anything is stored', async () => {
      const jobId = newJob();
      for (const source of [Buffer.alloc(0), Readable.from([], { objectMode: false }), Readable.from([Buffer.alloc(0), Buffer.alloc(0)])]) {
        await assert.rejects(files.put({ jobId, extension: 'png', source, limit: 10 }), (err: unknown) => err instanceof FileSizeError && err.reason === 'empty');
      }
      assert.deepEqual(await t.names(jobId), []);
    });

    it('keeps a file of exactly the limit, refuses one byte more while streaming, and leaves nothing behind', async () => {
      const jobId = newJob();
      const exact = await files.put({ jobId, extension: 'bin', source: chunks(4, 1024).source, limit: 4096 });
      assert.equal(exact.size, 4096);
      const big = chunks(12, 1024 * 1024);
      const source = big.source;
      await assert.rejects(files.put({ jobId, extension: 'bin', source, limit: 10 * 1024 * 1024 - 1 }), (err: unknown) => err instanceof FileSizeError && err.reason === 'too_large' && err.limit === 10 * 1024 * 1024 - 1);
      assert.ok(source.destroyed, 'the source is not read any further');
      await assert.rejects(files.put({ jobId, extension: 'bin', source: Buffer.alloc(11), limit: 10 }), FileSizeError);
      assert.deepEqual(await t.names(jobId), [exact.key.slice(jobId.length + 1)], 'only the file within the limit exists');
      await assert.rejects(files.read(exact.key, 4095), (err: unknown) => err instanceof FileSizeError && err.reason === 'too_large');
    });

    it('fails with the source\'s own error when the source breaks mid-way, and leaves nothing behind', async () => {
      const jobId = newJob();
      const source = Readable.from((async function* () {
        yield Buffer.alloc(6 * 1024 * 1024, 1);
        yield Buffer.alloc(6 * 1024 * 1024, 2);
        throw new Error('the upstream connection was reset');
      })(), { objectMode: false });
      await assert.rejects(files.put({ jobId, extension: 'mp4', source, limit: 100 * 1024 * 1024 }), /upstream connection was reset/);
      assert.deepEqual(await t.names(jobId), []);
    });

    it('types a file by its extension and refuses a declared type that contradicts it', async () => {
      const jobId = newJob();
      const types: Array<[string, string]> = [['png', 'image/png'], ['jpg', 'image/jpeg'], ['webp', 'image/webp'], ['gif', 'image/gif'], ['mp4', 'video/mp4'], ['wav', 'audio/wav'], ['mp3', 'audio/mpeg'], ['glb', 'model/gltf-binary'], ['json', 'application/json'], ['weird', 'application/octet-stream']];
      for (const [extension, type] of types) {
        const stored = await files.put({ jobId, extension, source: Buffer.from('x'), limit: 10 });
        assert.equal(stored.contentType, type, extension);
        assert.equal((await files.head(stored.key))?.contentType, type, extension);
      }
      for (const declared of ['image/png', 'image/PNG; charset=binary', 'application/octet-stream', 'x-unknown/whatever']) {
        await files.put({ jobId, extension: 'png', contentType: declared, source: Buffer.from('x'), limit: 10 });
      }
      const bytes = await files.put({ jobId, extension: 'bin', contentType: 'image/png', source: Buffer.from('x'), limit: 10 });
      assert.equal(bytes.contentType, 'application/octet-stream', 'a generic extension contradicts no type: kept as bytes');
      const before = (await t.names(jobId)).length;
      await assert.rejects(files.put({ jobId, extension: 'html', contentType: 'image/png', source: Buffer.from('<script>'), limit: 100 }), FileTypeError);
      await assert.rejects(files.put({ jobId, extension: 'png', contentType: 'video/mp4', source: Buffer.from('x'), limit: 100 }), FileTypeError);
      assert.equal((await t.names(jobId)).length, before, 'a refused type stores nothing');
      await assert.rejects(files.put({ jobId: '../up', extension: 'png', source: Buffer.from('x'), limit: 10 }), /invalid/);
      await assert.rejects(files.put({ jobId, extension: 'p.ng', source: Buffer.from('x'), limit: 10 }), /invalid/);
    });

    it('keeps concurrent puts of one job apart', async () => {
      const jobId = newJob();
      const stored = await Promise.all(Array.from({ length: 8 }, (_, i) => files.put({ jobId, extension: 'txt', source: Buffer.from(`file ${i}`), limit: 100 })));
      assert.equal(new Set(stored.map((s) => s.key)).size, 8);
      for (const [i, s] of stored.entries()) assert.equal((await files.read(s.key, 100))?.toString(), `file ${i}`);
    });

    it('deletes every file of a job, however many, and no other job\'s', async () => {
      const [doomed, kept] = [newJob(), newJob()];
      const gone = await Promise.all(Array.from({ length: 5 }, () => files.put({ jobId: doomed, extension: 'png', source: Buffer.from('x'), limit: 10 })));
      const stays = await files.put({ jobId: kept, extension: 'png', source: Buffer.from('y'), limit: 10 });
      await files.deleteJob(doomed);
      assert.deepEqual(await t.names(doomed), []);
      for (const g of gone) assert.equal(await files.open(g.key), null);
      assert.equal((await files.read(stays.key, 10))?.toString(), 'y');
      await files.deleteJob(doomed);
      await files.deleteJob(newJob());
      await assert.rejects(files.deleteJob('../x'), /invalid job id/);
    });

    it('lists every stored file once, page by page, with its time, and resumes after the last page\'s end', async () => {
      const started = Date.now();
      const [a, b] = [newJob(), newJob()];
      const ours = await Promise.all([
        ...Array.from({ length: 3 }, (_, i) => files.put({ jobId: a, extension: 'png', source: Buffer.from(`a${i}`), limit: 10 })),
        ...Array.from({ length: 2 }, (_, i) => files.put({ jobId: b, extension: 'wav', source: Buffer.from(`b${i}`), limit: 10 })),
      ]);
      // The backend also holds the earlier tests' files: the walk must show them too, each once.
      const seen: string[] = [];
      const times = new Map<string, Date>();
      let after: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<FileStorage['list']>> = await files.list({ after, limit: 2 });
        assert.ok(page.files.length <= 2);
        for (const f of page.files) {
          seen.push(f.key);
          times.set(f.key, f.lastModified);
          if (!f.partial) assert.ok(validKey(f.key), f.key);
        }
        after = page.next;
        pages += 1;
      } while (after !== null && pages < 1000);
      assert.equal(after, null, 'the walk ends');
      assert.equal(new Set(seen).size, seen.length, 'no file is listed twice');
      for (const f of ours) {
        assert.ok(seen.includes(f.key), `${f.key} is listed`);
        const at = times.get(f.key)!.getTime();
        assert.ok(at >= Math.floor(started / 1000) * 1000 - 1000 && at <= Date.now() + 1000, `${f.key} was written ${new Date(at).toISOString()}`);
      }
      assert.ok(pages >= 3, 'five files or more take three pages of two');
      // A page taken after a key goes on past it.
      const resumed = await files.list({ after: ours[0]!.key, limit: 1_000 });
      assert.equal(resumed.files.some((f) => f.key === ours[0]!.key), false);
    });

    it('deletes the files named, a missing one without complaint, and refuses any other shape of key', async () => {
      const jobId = newJob();
      const [x, y, z] = await Promise.all(['x', 'y', 'z'].map((c) => files.put({ jobId, extension: 'png', source: Buffer.from(c), limit: 10 })));
      await files.delete([x!.key, z!.key, `${jobId}/never-stored.png`]);
      assert.equal(await files.open(x!.key), null);
      assert.equal(await files.open(z!.key), null);
      assert.equal((await files.read(y!.key, 10))?.toString(), 'y');
      assert.deepEqual(await t.names(jobId), [y!.key.split('/')[1]]);
      await files.delete([y!.key]);
      assert.deepEqual(await t.names(jobId), []);
      await files.delete([]);
      for (const bad of ['../etc/passwd.png', `${jobId}`, `${jobId}/../x.png`, `${jobId}/a/b.png`]) {
        await assert.rejects(files.delete([bad]), /not a key of this storage/, bad);
      }
    });

    it('presigns a link that fetches the file straight from storage, when the adapter can', async (ctx) => {
      if (!files.presign) {
        assert.equal(files.kind, 'local', 'only the local folder has no presigned links');
        ctx.skip('this adapter has no presigned links');
        return;
      }
      const jobId = newJob();
      const image = await files.put({ jobId, extension: 'png', source: Buffer.from('pixels'), limit: 100 });
      const page = await files.put({ jobId, extension: 'html', source: Buffer.from('<script>alert(1)</script>'), limit: 100 });
      const url = await files.presign(image.key, 60);
      assert.match(url, /X-Amz-Expires=60&/);
      assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(await res.text(), 'pixels');
      const html = await fetch(await files.presign(page.key, 60));
      assert.equal(html.headers.get('content-disposition'), `attachment; filename="${page.key.split('/')[1]}"`);
      await html.arrayBuffer();
    });
  });
}
