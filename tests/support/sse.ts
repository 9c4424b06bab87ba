// A small SSE client over node:http for tests: keeps the raw text, parses frames as they arrive.
import http, { type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { checkProgressEvent, checkResponse } from './openapi';

export interface SseFrame {
  /** The frame exactly as received, without its terminating blank line. */
  raw: string;
  id?: string;
  /** The data line, parsed as JSON. */
  data?: Record<string, unknown>;
  comment?: string;
  /** performance.now() when the chunk holding the frame arrived. */
  receivedAt: number;
}

export class SseClient {
  readonly frames: SseFrame[] = [];
  raw = '';
  ended = false;
  /** Data frames received so far. */
  dataCount = 0;
  /** Resolves when the server ends the response or the connection closes. */
  readonly done: Promise<void>;
  private rest = '';
  private listeners: Array<() => void> = [];

  private constructor(
    readonly response: IncomingMessage,
    readonly request: http.ClientRequest,
    read: boolean,
  ) {
    response.setEncoding('utf8');
    this.done = new Promise((resolve) => {
      const end = () => {
        this.ended = true;
        this.notify();
        resolve();
      };
      response.once('end', end);
      response.once('close', end);
      response.once('error', end);
    });
    if (read) this.resume();
  }

  /** Opens a stream; `read: false` leaves the response paused (a client that stops reading). */
  static open(
    url: string,
    headers: Record<string, string>,
    options: { read?: boolean } = {},
  ): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
        const client = new SseClient(response, request, options.read ?? true);
        if (response.statusCode === 200) {
          // A stream's status and type are checked now; a refusal's JSON body when it is read (body()).
          try {
            client.check(undefined);
          } catch (error) {
            request.destroy();
            reject(error);
            return;
          }
        }
        resolve(client);
      });
      request.once('error', reject);
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Data frames, parsed. */
  events(): Array<Record<string, unknown>> {
    return this.frames.filter((f) => f.data).map((f) => f.data as Record<string, unknown>);
  }

  resume(): void {
    this.response.on('data', (chunk: string) => this.feed(chunk));
  }

  /** Waits for the first frame at or after `from` matching the predicate. */
  waitFor(predicate: (frame: SseFrame) => boolean, timeoutMs = 10_000, from = 0): Promise<SseFrame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.slice(from).find(predicate);
        if (found) {
          cleanup();
          resolve(found);
        } else if (this.ended) {
          cleanup();
          reject(new Error(`stream ended before the frame came; got:\n${this.raw.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching frame within ${timeoutMs} ms; got:\n${this.raw.slice(-2000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
      };
      this.listeners.push(check);
      check();
    });
  }

  /** Waits for a data frame whose JSON matches the given fields. */
  waitForEvent(fields: Record<string, unknown>, timeoutMs = 10_000): Promise<SseFrame> {
    return this.waitFor(
      (f) => f.data !== undefined && Object.entries(fields).every(([k, v]) => f.data?.[k] === v),
      timeoutMs,
    );
  }

  /** The raw body once it ended; a refusal's JSON is checked against the OpenAPI document. */
  async body(): Promise<string> {
    await this.done;
    if (this.status !== 200) {
      let json: unknown = this.raw;
      try {
        json = JSON.parse(this.raw);
      } catch {
        // not JSON: the content type check says so
      }
      this.check(json);
    }
    return this.raw;
  }

  /** The answer against the OpenAPI document (the route, its status, content type and a JSON body). */
  check(body: unknown): void {
    checkResponse({
      method: 'GET',
      url: this.request.path,
      status: this.status,
      contentType: this.response.headers['content-type'],
      body,
      hasBody: true,
      allow: this.response.headers.allow,
    });
  }

  close(): void {
    this.request.destroy();
  }

  private feed(chunk: string): void {
    const receivedAt = performance.now();
    this.raw += chunk;
    this.rest += chunk;
    let end: number;
    while ((end = this.rest.indexOf('\n\n')) !== -1) {
      const raw = this.rest.slice(0, end);
      this.rest = this.rest.slice(end + 2);
      const frame: SseFrame = { raw, receivedAt };
      for (const line of raw.split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) frame.id = line.slice(4);
        else if (line.startsWith('data: ')) {
          try {
            frame.data = JSON.parse(line.slice(6)) as Record<string, unknown>;
          } catch {
            // Not JSON (a non-SSE error body): leave it in raw.
          }
        }
      }
      if (frame.data) {
        // Every event a stream delivers is a ProgressEvent of the OpenAPI document.
        checkProgressEvent(frame.data);
        this.dataCount++;
      }
      this.frames.push(frame);
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
