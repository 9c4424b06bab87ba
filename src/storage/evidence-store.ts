// Azure Blob Storage for evidence files: a private container, staged block uploads, read-only SAS links.
import {
  BlobSASPermissions,
  BlobServiceClient,
  SASProtocol,
  type ContainerClient,
} from '@azure/storage-blob';

export interface CommitOptions {
  contentType: string;
  fileName: string;
  sha256: string;
  size: number;
}

export interface SignedUrl {
  url: string;
  expiresAt: Date;
}

export type BlobOperation =
  'ensure_container' | 'ping' | 'stage_block' | 'commit' | 'delete' | 'sign' | 'list';

export const BLOB_OPERATIONS: readonly BlobOperation[] = [
  'ensure_container',
  'ping',
  'stage_block',
  'commit',
  'delete',
  'sign',
  'list',
];

/** Told about every storage operation once it settles: how long it took and whether it threw. Must not throw. */
export type BlobObserver = (operation: BlobOperation, seconds: number, failed: boolean) => void;

export class EvidenceStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly observe: BlobObserver = () => undefined,
  ) {}

  static fromConnectionString(
    connectionString: string,
    containerName: string,
    observe?: BlobObserver,
  ): EvidenceStore {
    const service = BlobServiceClient.fromConnectionString(connectionString, {
      retryOptions: { maxTries: 3, tryTimeoutInMs: 30000 },
    });
    return new EvidenceStore(service.getContainerClient(containerName), observe);
  }

  /** Creates the container if missing, always private (no public access level). */
  async ensureContainer(): Promise<void> {
    await this.track('ensure_container', () => this.container.createIfNotExists());
  }

  /** Readiness: the account answers and the container exists. */
  async ping(): Promise<boolean> {
    return this.track('ping', () => this.container.exists());
  }

  url(blobName: string): string {
    return this.container.getBlockBlobClient(blobName).url;
  }

  /** Uploads one block; nothing is visible under the blob name until commit(). */
  async stageBlock(blobName: string, blockId: string, data: Buffer): Promise<void> {
    await this.track('stage_block', () =>
      this.container.getBlockBlobClient(blobName).stageBlock(blockId, data, data.length),
    );
  }

  /** Makes the staged blocks the blob, with its content type and what the service recorded about it. */
  async commit(blobName: string, blockIds: string[], options: CommitOptions): Promise<void> {
    await this.track('commit', () =>
      this.container.getBlockBlobClient(blobName).commitBlockList(blockIds, {
        blobHTTPHeaders: { blobContentType: options.contentType },
        metadata: {
          filename: encodeURIComponent(options.fileName),
          sha256: options.sha256,
          size: String(options.size),
        },
      }),
    );
  }

  async delete(blobName: string): Promise<void> {
    await this.track('delete', () =>
      this.container.getBlockBlobClient(blobName).deleteIfExists({ deleteSnapshots: 'include' }),
    );
  }

  /** A read-only link to one blob, served as an attachment under the given file name. */
  async signedDownloadUrl(
    blobName: string,
    fileName: string,
    ttlSeconds: number,
    now = new Date(),
  ): Promise<SignedUrl> {
    const blob = this.container.getBlockBlobClient(blobName);
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const url = await this.track('sign', () =>
      blob.generateSasUrl({
        permissions: BlobSASPermissions.parse('r'),
        startsOn: new Date(now.getTime() - 60_000),
        expiresOn: expiresAt,
        protocol: blob.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
        contentDisposition: contentDisposition(fileName),
      }),
    );
    return { url, expiresAt };
  }

  /** Names of every committed blob (tests and operators' checks). */
  async listBlobNames(prefix?: string): Promise<string[]> {
    return this.track('list', async () => {
      const names: string[] = [];
      for await (const blob of this.container.listBlobsFlat({ prefix })) names.push(blob.name);
      return names;
    });
  }

  private async track<T>(operation: BlobOperation, run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    let failed = true;
    try {
      const result = await run();
      failed = false;
      return result;
    } finally {
      this.observe(operation, Number(process.hrtime.bigint() - started) / 1e9, failed);
    }
  }
}

/**
 * RFC 6266: an ASCII fallback (one `_` per other character) plus the exact UTF-8 name, percent-encoded
 * as RFC 5987 asks (encodeURIComponent leaves ' ( ) * as they are).
 */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/gu, '_').replace(/["\\%]/g, '_');
  const exact = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
