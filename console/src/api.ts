// The console's use of the public GraphQL API: queries and mutations over HTTP (urql), uploads as GraphQL
// multipart requests over XHR (for upload progress), and live progress over graphql-ws.
import { Client, fetchExchange, type AnyVariables } from '@urql/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { authHeaders, onTokens } from './session';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const client = new Client({
  url: '/graphql',
  exchanges: [fetchExchange],
  preferGetMethod: false,
  requestPolicy: 'network-only',
  fetchOptions: () => ({ headers: authHeaders() }),
});

function failure(error: {
  graphQLErrors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  message: string;
}) {
  const first = error.graphQLErrors?.[0];
  return first
    ? new ApiError(first.message, first.extensions?.code as string | undefined)
    : new ApiError(error.message.replace(/^\[Network\] /, ''));
}

export async function query<T>(document: string, variables: AnyVariables = {}): Promise<T> {
  const result = await client.query<T>(document, variables).toPromise();
  if (result.error) throw failure(result.error);
  return result.data as T;
}

export async function mutate<T>(document: string, variables: AnyVariables = {}): Promise<T> {
  const result = await client.mutation<T>(document, variables).toPromise();
  if (result.error) throw failure(result.error);
  return result.data as T;
}

/** A GraphQL multipart request (one file as variable `evidence`), reporting the upload's progress. */
export function upload<T>(
  document: string,
  variables: Record<string, unknown>,
  file: File,
  onProgress: (percent: number) => void,
): Promise<T> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: document, variables: { ...variables, evidence: null } }));
  form.append('map', JSON.stringify({ '0': ['variables.evidence'] }));
  form.append('0', file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/graphql');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('apollo-require-preflight', 'true');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onerror = () => reject(new ApiError('The upload failed: the connection was lost'));
    xhr.onload = () => {
      let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        return reject(new ApiError(`The upload failed (${xhr.status})`));
      }
      if (body.errors?.length)
        return reject(new ApiError(body.errors[0].message, body.errors[0].extensions?.code));
      resolve(body.data as T);
    };
    xhr.send(form);
  });
}

export interface ProgressEvent {
  id: string | null;
  type: string;
  processRequestId: string;
  status: string | null;
}

const PROGRESS = `subscription Progress($clientId: ID!, $lastEventId: ID) {
  processRequestProgress(clientId: $clientId, lastEventId: $lastEventId) { id type processRequestId status }
}`;

/**
 * Follows one partner's progress events. After a dropped connection or a token renewal it subscribes
 * again with the last stored event id seen, so nothing in between is missed.
 */
export function watchProgress(clientId: string, onEvent: (event: ProgressEvent) => void): () => void {
  let lastEventId: string | null = null;
  let ws: WsClient | null = null;
  let stop: (() => void) | null = null;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const connect = () => {
    if (closed) return;
    ws = createClient({
      url: `${window.location.origin.replace(/^http/, 'ws')}/graphql`,
      connectionParams: () => authHeaders(),
      retryAttempts: 0,
      lazy: true,
    });
    const variables: Record<string, unknown> = { clientId };
    if (lastEventId !== null) variables.lastEventId = lastEventId;
    const again = () => {
      if (closed) return;
      clearTimeout(retry);
      retry = setTimeout(reconnect, 1000);
    };
    stop = ws.subscribe<{ processRequestProgress: ProgressEvent }>(
      { query: PROGRESS, variables },
      {
        next: (result) => {
          const event = result.data?.processRequestProgress;
          if (!event) return;
          if (event.id !== null) lastEventId = event.id;
          onEvent(event);
        },
        error: again,
        complete: again,
      },
    );
  };
  const disconnect = () => {
    stop?.();
    void ws?.dispose();
    stop = null;
    ws = null;
  };
  const reconnect = () => {
    disconnect();
    connect();
  };
  // A renewed token: a new connection carries it (the old one's stream would end when its token does).
  const unlisten = onTokens((t) => (t ? reconnect() : disconnect()));
  connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    unlisten();
    disconnect();
  };
}
