import type { FileLinks, FileStorage, StoredFile } from './storage.js';

/** How links are made (the Config's fields of the same names). */
export interface LinkSettings {
  /** Base of served links: the answering process's own address. */
  publicUrl: string;
  /** `served` at PUBLIC_URL/files/, or `presigned` by the storage (GENJOBS_FILE_LINKS). */
  fileLinks: 'served' | 'presigned';
  /** Lifetime of a presigned link (GENJOBS_PRESIGN_SECONDS). */
  presignSeconds: number;
}

/**
 * Links are made each time a job is read, never stored: a served link names the answering
 * process's own PUBLIC_URL (so moving a deployment changes only that variable), and a presigned
 * one is signed afresh with the configured lifetime.
 */
export function fileLinks(config: LinkSettings, storage: FileStorage): FileLinks {
  if (config.fileLinks === 'presigned') {
    const presign = storage.presign?.bind(storage);
    if (!presign) throw new Error(`GENJOBS_FILE_LINKS=presigned needs a storage that can presign links; the ${storage.kind} storage cannot`);
    return { link: (file: StoredFile) => presign(file.key, config.presignSeconds) };
  }
  return { link: async (file: StoredFile) => servedLink(config.publicUrl, file.key) };
}

/** The address at which this process serves a stored file. */
export function servedLink(publicUrl: string, key: string): string {
  return `${publicUrl}/files/${key}`;
}
