// The Azure AD credential for AZURE_STORAGE_ACCOUNT_URL: the Azure identity library's default chain
// (environment variables, workload identity, managed identity, Azure CLI, …). Loaded only on that path.
import type { TokenCredential } from '@azure/core-auth';

export async function defaultStorageCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}
