import { Readable } from 'node:stream';
import path from 'node:path';
import {
  DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsCommand, S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../types/s3-config.js';
import { assertTypeMatches, contentTypeOf } from './content-type.js';
import { intake, limitBytes } from './intake.js';
import { resolveRange } from './range.js';
import { assertNameParts, randomName } from './local-storage.js';
import { servedInline } from './safety-headers.js';
import {
  FileSizeError, UnsatisfiableRangeError, validJobId, validKey,
  type FileHead, type FileListing, type FileRange, type FileStorage, type OpenedFile, type StoredFile, type SuffixRange,
} from './storage.js';

/** Bytes per part of a multipart upload: memory per upload is about this times QUEUE_SIZE. (S3's minimum is 5 MiB) */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts of one upload in flight at once. */
const QUEUE_SIZE = 2;

/** Not found, as S3 says it: NoSuchKey from GET, a bare 404 from HEAD. */
const absent = (err: unknown): boolean =>
  (err as { name?: string }).name === 'NoSuchKey' || (err as { name?: string }).name === 'NotFound' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/** The client for a configured bucket: region, endpoint and path style from the configuration, credentials from the SDK's default chain. */
export function s3Client(s3: S3Config): S3Client {
  return new S3Client({
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    // Otherwise the SDK's default chain: AWS_PROFILE, web identity, container and instance roles.
    ...(s3.credentials ? { credentials: s3.credentials } : {}),
    // Checksums only where S3 requires them: many S3-compatible services reject the trailing
    // checksums newer SDKs add to every upload. Our own SHA-256 is computed on the way anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Output files as objects of an S3 (or S3-compatible) bucket, under `<prefix><job id>/<name>`.
 * Every process configured with the same bucket stores and serves every file; no shared folder.
 */
export class S3FileStorage implements FileStorage {
  readonly kind = 's3';

  /** `deleteBatch`: objects listed and deleted per request by deleteJob. (Default: 1000, S3's most) */
  constructor(private readonly client: S3Client, private readonly bucket: string, private readonly prefix = '', private readonly deleteBatch = 1000) {}

  /** Fails with a message that says what to fix when the bucket cannot be reached with these settings (checked at start). */
  async verify(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const why = status === 404 ? 'it does not exist'
        : status === 403 ? 'access is denied (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the role)'
        : (err as Error).message;
      throw new Error(`cannot use the S3 bucket "${this.bucket}" (GENJOBS_S3_BUCKET): ${why}`, { cause: err });
    }
  }

  /**
   * A multipart upload fed as the bytes arrive, a few parts in flight: memory stays bounded
   * whatever the size. An object appears only when its upload completes, so a refused or failed
   * file is never visible; its parts are aborted.
   */
  async put(p: { jobId: string; extension: string; contentType?: string; source: Readable | Buffer | Uint8Array; limit: number }): Promise<StoredFile> {
    assertNameParts(p.jobId, p.extension);
    assertTypeMatches(p.contentType, p.extension);
    const incoming = await intake(p.source, p.limit);
    const key = `${p.jobId}/${randomName(p.extension)}`;
    const contentType = contentTypeOf(p.extension);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.prefix + key, Body: incoming.body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      incoming.body.destroy();
      throw incoming.failure() ?? err;
    }
    const { size, sha256 } = incoming.totals();
    return { key, size, contentType, sha256 };
  }

  async head(key: string): Promise<FileHead | null> {
    if (!validKey(key)) return null;
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return describe(key, res.ContentLength ?? 0, res);
    } catch (err) {
      if (absent(err)) return null;
      throw err;
    }
  }

  async open(key: string, range?: FileRange | SuffixRange): Promise<OpenedFile | null> {
    if (!validKey(key)) return null;
    if (range && 'suffix' in range) {
      // Suffixes are made absolute here (one HEAD more): not every S3-compatible service reads "bytes=-N" (s3rver does not).
      const head = await this.head(key);
      if (!head) return null;
      range = resolveRange(range, head.size);
    }
    let res: GetObjectCommandOutput;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: range && rangeHeader(range) }));
    } catch (err) {
      if (absent(err)) return null;
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
        const head = await this.head(key);
        if (!head) return null;
        throw new UnsatisfiableRangeError(head.size);
      }
      throw err;
    }
    const body = res.Body as Readable;
    const served = range ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '') : null;
    if (!range || !served) return { ...describe(key, res.ContentLength ?? 0, res), body };
    const size = Number(served[3]);
    const wanted = resolveRange(range, size);
    const start = Number(served[1]);
    if (start !== wanted.start || Number(served[2]) < wanted.end) {
      body.destroy();
      throw new Error(`S3 answered the range ${rangeHeader(range)} of ${key} with ${res.ContentRange}`);
    }
    // Some S3-compatible services send more than asked (s3rver reads "bytes=0-0" as "bytes=0-"): cut to the range.
    const exact = Number(served[2]) === wanted.end ? body : Readable.from(limitBytes(wanted.end - start + 1)(body), { objectMode: false });
    return { ...describe(key, size, res), body: exact, range: wanted };
  }

  async read(key: string, limit: number): Promise<Buffer | null> {
    const file = await this.open(key);
    if (!file) return null;
    if (file.size > limit) {
      file.body.destroy();
      throw new FileSizeError('too_large', limit);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of file.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Lists and deletes the job's objects a batch at a time (a thousand, S3's most) until none is
   * listed. Each round lists from the start, so no continuation token is needed: the first
   * version of ListObjects does, which every S3-compatible service has (s3rver's ListObjectsV2
   * fails on a truncated page under Node 17+, whose OpenSSL lacks the DES it makes tokens with).
   */
  async deleteJob(jobId: string): Promise<void> {
    if (!validJobId(jobId)) throw new Error(`invalid job id ${JSON.stringify(jobId)}`);
    for (;;) {
      const listed = await this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: `${this.prefix}${jobId}/`, MaxKeys: this.deleteBatch }));
      const objects = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (objects.length === 0) return;
      const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }));
      const failed = res.Errors?.[0];
      if (failed) throw new Error(`S3 did not delete ${failed.Key}: ${failed.Code} ${failed.Message}`);
    }
  }

  /**
   * Objects under the prefix in key order, a page of at most a thousand (S3's most), through the
   * first ListObjects and its marker (see deleteJob for why not V2). Objects of other shapes under
   * the prefix are passed over. Unfinished multipart uploads are not objects: a lifecycle rule
   * aborts them (docs/operations.md).
   */
  async list(p: { after?: string | null; limit: number }): Promise<FileListing> {
    const res = await this.client.send(new ListObjectsCommand({
      Bucket: this.bucket, Prefix: this.prefix, MaxKeys: Math.min(p.limit, 1000), ...(p.after ? { Marker: this.prefix + p.after } : {}),
    }));
    const listed = (res.Contents ?? []).filter((o) => o.Key !== undefined);
    const files = listed
      .map((o) => ({ key: (o.Key as string).slice(this.prefix.length), lastModified: o.LastModified ?? new Date(0) }))
      .filter((f) => validKey(f.key));
    const last = listed[listed.length - 1]?.Key;
    return { files, next: res.IsTruncated && last ? last.slice(this.prefix.length) : null };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) if (!validKey(key)) throw new Error(`not a key of this storage: ${JSON.stringify(key)}`);
    for (let i = 0; i < keys.length; i += this.deleteBatch) {
      const objects = keys.slice(i, i + this.deleteBatch).map((k) => ({ Key: this.prefix + k }));
      const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }));
      const failed = res.Errors?.[0];
      if (failed) throw new Error(`S3 did not delete ${failed.Key}: ${failed.Code} ${failed.Message}`);
    }
  }

  /** Signed for GET only; a file not shown inline comes with a download disposition, as when served. */
  async presign(key: string, expiresInSeconds: number): Promise<string> {
    const name = path.posix.basename(key);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.prefix + key,
      ...(servedInline(name) ? {} : { ResponseContentDisposition: `attachment; filename="${name}"` }),
    });
    return getSignedUrl(this.client, command, { expiresIn: expiresInSeconds });
  }
}

function rangeHeader(range: FileRange | SuffixRange): string {
  if ('suffix' in range) return `bytes=-${range.suffix}`;
  return `bytes=${range.start}-${range.end ?? ''}`;
}

function describe(key: string, size: number, res: { ETag?: string; LastModified?: Date }): FileHead {
  return {
    size,
    contentType: contentTypeOf(path.posix.extname(key).slice(1)),
    etag: res.ETag ?? `"${size.toString(16)}"`,
    lastModified: res.LastModified ?? new Date(0),
  };
}
