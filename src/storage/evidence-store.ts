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
    /** Set on the Azure AD path: the delegation keys the links are signed with. */
    readonly delegationKeys?: UserDelegationKeys,
  ) {}

  static fromConnectionString(connectionString: string, containerName: string): EvidenceStore {
    const service = BlobServiceClient.fromConnectionString(connectionString, PIPELINE);
    return new EvidenceStore(service.getContainerClient(containerName), (blob, options) =>
      blob.generateSasUrl(options),
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
      keys,
    );
  }

  /** Creates the container if missing, always private (no public access level). */
  async ensureContainer(): Promise<void> {
    await this.container.createIfNotExists();
  }

  /** Readiness: the account answers and the container exists. */
  async ping(): Promise<boolean> {
    return this.container.exists();
  }

  url(blobName: string): string {
    return this.container.getBlockBlobClient(blobName).url;
  }

  /** Uploads one block; nothing is visible under the blob name until commit(). */
  async stageBlock(blobName: string, blockId: string, data: Buffer): Promise<void> {
    await this.container.getBlockBlobClient(blobName).stageBlock(blockId, data, data.length);
  }

  /** Makes the staged blocks the blob, with its content type and what the service recorded about it. */
  async commit(blobName: string, blockIds: string[], options: CommitOptions): Promise<void> {
    await this.container.getBlockBlobClient(blobName).commitBlockList(blockIds, {
      blobHTTPHeaders: { blobContentType: options.contentType },
      metadata: {
        filename: encodeURIComponent(options.fileName),
        sha256: options.sha256,
        size: String(options.size),
      },
    });
  }

  async delete(blobName: string): Promise<void> {
    await this.container.getBlockBlobClient(blobName).deleteIfExists({ deleteSnapshots: 'include' });
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
    const url = await this.sign(blob, {
      permissions: BlobSASPermissions.parse('r'),
      startsOn: new Date(now.getTime() - 60_000),
      expiresOn: expiresAt,
      protocol: blob.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      contentDisposition: contentDisposition(fileName),
    });
    return { url, expiresAt };
  }

  /** Names of every committed blob (tests and operators' checks). */
  async listBlobNames(prefix?: string): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix })) names.push(blob.name);
    return names;
  }
}

/** RFC 6266: an ASCII fallback plus the exact UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
