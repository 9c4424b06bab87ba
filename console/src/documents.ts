// The GraphQL operations the console sends, and the shapes it reads back.

export interface Me {
  id: string;
  name: string;
  email: string;
  roles: string[];
  otpRequired: boolean;
}

export interface Partner {
  id: string;
  name: string;
  currency: string;
}

export interface Person {
  id: string;
  name: string;
}

export interface Request {
  id: string;
  clientId: string;
  requestedAmount: string;
  currency: string;
  status: string;
  processTypeId: number;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  requiredApprovals: number;
  approvals: Array<{ operatorId: string; at: string; operator?: Person }>;
  creator: Person;
}

export interface RequestDetails extends Request {
  observations: string | null;
  reviewReason: string | null;
  evidence: { fileName: string; contentType: string; size: number } | null;
  history: Array<{ id: string; type: string; at: string; reason: string | null; actor: Person | null }>;
}

export interface Page {
  items: Request[];
  page: number;
  total: number;
  totalPages: number;
}

export interface DecisionResult {
  id: string;
  ok: boolean;
  code: string | null;
  message: string | null;
}

export const ME = `query Me { me { id name email roles otpRequired } partners { id name currency } }`;

const ROW = `id clientId requestedAmount currency status processTypeId createdBy createdAt expiresAt requiredApprovals
  approvals { operatorId at } creator { id name }`;

export const INBOX = `query Inbox($clientId: ID!, $page: Int, $status: [ProcessRequestStatus!], $decidableByMe: Boolean,
  $minAmount: Decimal, $maxAmount: Decimal, $from: String, $to: String, $oldestFirst: Boolean) {
  processRequests(clientId: $clientId, page: $page, limit: 100, status: $status, decidableByMe: $decidableByMe,
    minAmount: $minAmount, maxAmount: $maxAmount, from: $from, to: $to, oldestFirst: $oldestFirst) {
    page total totalPages items { ${ROW} }
  }
}`;

export const REQUEST = `query Request($clientId: ID!, $id: ID!) {
  processRequest(clientId: $clientId, id: $id) {
    ${ROW} observations reviewReason
    approvals { operatorId at operator { id name } }
    evidence { fileName contentType size }
    history { id type at reason actor { id name } }
  }
}`;

export const EVIDENCE = `query Evidence($clientId: ID!, $id: ID!) {
  evidenceDownloadUrl(clientId: $clientId, id: $id) { url expiresAt }
}`;

const DECIDE = (field: string) => `mutation Decide($clientId: ID!, $id: ID!, $reason: String, $otp: String) {
  ${field}(clientId: $clientId, id: $id, reason: $reason, otp: $otp) { id status }
}`;

export const APPROVE = DECIDE('approveProcessRequest');
export const REJECT = DECIDE('rejectProcessRequest');
export const CANCEL = DECIDE('cancelProcessRequest');
export const REVERSE = `mutation Reverse($clientId: ID!, $id: ID!, $reason: String!, $otp: String) {
  reverseProcessRequest(clientId: $clientId, id: $id, reason: $reason, otp: $otp) { id status }
}`;

const BULK = (field: string) => `mutation Bulk($clientId: ID!, $ids: [ID!]!, $reason: String, $otp: String) {
  ${field}(clientId: $clientId, ids: $ids, reason: $reason, otp: $otp) { id ok code message }
}`;
export const APPROVE_MANY = BULK('approveProcessRequests');
export const REJECT_MANY = BULK('rejectProcessRequests');

export const CREATE = `mutation Create($clientId: ID!, $input: CreateProcessRequestInput!, $evidence: Upload!) {
  createProcessRequest(clientId: $clientId, input: $input, evidence: $evidence) { id }
}`;

export const POLICY = `query Policy($clientId: ID!) {
  approvalPolicy(clientId: $clientId) {
    pendingTtlSeconds updatedAt tiers { from approvals }
    history { id at actor { id name } before { pendingTtlSeconds tiers { from approvals } } after { pendingTtlSeconds tiers { from approvals } } }
  }
}`;
