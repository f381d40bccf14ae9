/**
 * The S3 (or S3-compatible) bucket output files go to: read from GENJOBS_S3_* and AWS_* by the
 * configuration (src/config), used by the S3 adapter (src/files/s3-storage.ts). One type for both.
 */
export interface S3Config {
  /** GENJOBS_S3_BUCKET. (Required with GENJOBS_STORAGE=s3) */
  bucket: string;
  /** Prepended to every key, such as `genjobs/` to share a bucket; a `/` is added if missing. (Default: none) */
  prefix: string;
  /** An S3-compatible service's address (MinIO, R2, Ceph...); AWS's own when unset. (Default: unset) */
  endpoint: string | null;
  /** Bucket in the path (`endpoint/bucket/key`) rather than the host name; most S3-compatible services need it. (Default: false) */
  forcePathStyle: boolean;
  /** AWS_REGION (or AWS_DEFAULT_REGION). (Default: us-east-1 with an endpoint; required without one) */
  region: string;
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN when set; null: the SDK's default chain (AWS_PROFILE, web identity, roles). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
}
