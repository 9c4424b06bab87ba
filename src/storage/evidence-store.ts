// Azure Blob Storage for evidence files: a private container, staged block uploads, read-only SAS links.
// Two ways in: a connection string with an account key (Azurite, key-based accounts; links signed with the
// key), or an account URL with an Azure AD token credential (links signed with a user delegation key).
import type { TokenCredential } from '@azure/core-auth';
import {
  BlobSASPermissions,
  BlobServiceClient,
  SASProtocol,
  type BlobClient,
  type BlobGenerateSasUrlOptions,
  newPipeline,
  type ContainerClient,
  type RequestPolicyFactory,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { UserDelegationKeys } from './user-delegation-keys';

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

/** A committed blob as a listing shows it. */
export interface StoredBlob {
  name: string;
  lastModified: Date;
}

export type BlobOperation =
  'ensure_container' | 'ping' | 'upload' | 'stage_block' | 'commit' | 'delete' | 'sign' | 'list';

export const BLOB_OPERATIONS: readonly BlobOperation[] = [
  'ensure_container',
  'ping',
  'upload',
  'stage_block',
  'commit',
  'delete',
  'sign',
  'list',
];

/** Told about every storage operation once it settles: how long it took and whether it threw. Must not throw. */
export type BlobObserver = (operation: BlobOperation, seconds: number, failed: boolean) => void;

/** Signs a read-only link to one blob. */
type Signer = (blob: BlobClient, options: BlobGenerateSasUrlOptions) => Promise<string>;

/**
 * The SAS format user delegation links are signed in. Azure verifies every published version; pinning one
 * the local emulator (Azurite 3.35) also knows keeps the Azure AD path testable end to end.
 */
export const USER_DELEGATION_SAS_VERSION = '2025-07-05';

const PIPELINE: StoragePipelineOptions = { retryOptions: { maxTries: 3, tryTimeoutInMs: 30000 } };

export class EvidenceStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly sign: Signer,
    private readonly observe: BlobObserver = () => undefined,
    /** Set on the Azure AD path: the delegation keys the links are signed with. */
    readonly delegationKeys?: UserDelegationKeys,
  ) {}

  static fromConnectionString(
    connectionString: string,
    containerName: string,
    observe?: BlobObserver,
  ): EvidenceStore {
    const service = BlobServiceClient.fromConnectionString(connectionString, PIPELINE);
    return new EvidenceStore(
      service.getContainerClient(containerName),
      (blob, options) => blob.generateSasUrl(options),
      observe,
    );
  }

  /**
   * Azure AD: `credential` (DefaultAzureCredential in the service) for every call and for delegation keys.
   * `policies` run on every request (a test's trusted CA, say).
   */
  static fromAccountUrl(
    accountUrl: string,
    containerName: string,
    credential: TokenCredential,
    policies: RequestPolicyFactory[] = [],
    observe?: BlobObserver,
  ): EvidenceStore {
    const pipeline = newPipeline(credential, PIPELINE);
    pipeline.factories.push(...policies);
    const service = new BlobServiceClient(accountUrl, pipeline);
    const keys = new UserDelegationKeys((startsOn, expiresOn) =>
      service.getUserDelegationKey(startsOn, expiresOn),
    );
    return new EvidenceStore(
      service.getContainerClient(containerName),
      async (blob, options) =>
        blob.generateUserDelegationSasUrl(
          { ...options, version: USER_DELEGATION_SAS_VERSION },
          await keys.keyFor(options.expiresOn!),
        ),
      observe,
      keys,
    );
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

  /**
   * Writes a whole blob in one call (Put Blob) from the chunks it was read in, with what commit() records
   * about it: visible at once, so only where a committed blob may be (after its upload intent).
   */
  async upload(blobName: string, chunks: readonly Buffer[], options: CommitOptions): Promise<void> {
    await this.track('upload', () =>
      this.container
        .getBlockBlobClient(blobName)
        // One buffer (at most one block, 1 MiB, joined once): the request body goes out in one write, where
        // a stream of the chunks as they arrived took a socket write each (a retry sends the same buffer).
        .upload(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), options.size, blobOptions(options)),
    );
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
      this.container.getBlockBlobClient(blobName).commitBlockList(blockIds, blobOptions(options)),
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
      this.sign(blob, {
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

  /** Every committed blob with its last change, a page at a time (the reconciler's sweep of the container). */
  async *listPages(pageSize = 1000): AsyncGenerator<StoredBlob[]> {
    const pages = this.container.listBlobsFlat().byPage({ maxPageSize: pageSize });
    for (;;) {
      const page = await this.track('list', () => pages.next());
      if (page.done) return;
      yield page.value.segment.blobItems.map((blob) => ({
        name: blob.name,
        lastModified: blob.properties.lastModified,
      }));
    }
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

/** The content type and the metadata a committed blob carries, however it was written. */
function blobOptions(options: CommitOptions) {
  return {
    blobHTTPHeaders: { blobContentType: options.contentType },
    metadata: {
      filename: encodeURIComponent(options.fileName),
      sha256: options.sha256,
      size: String(options.size),
    },
  };
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
