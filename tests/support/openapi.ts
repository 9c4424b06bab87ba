// Every REST answer the tests receive is checked against the service's OpenAPI document: the status must
// be documented for the route and method, the content type one of the documented media types, and a JSON
// body valid against its schema. Validators are compiled once per test file (per module registry), lazily.
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type supertest from 'supertest';
import { openApiDocument } from '../../src/rest/openapi/document';

type Json = Record<string, unknown>;

/** The document with the docs page on, as every test world serves it unless API_DOCS=false. */
export const DOCUMENT = openApiDocument({ docsPage: true }) as Json & {
  paths: Record<string, Record<string, Json>>;
  components: Json & { responses: Record<string, Json> };
};
const DOCUMENT_ID = 'openapi';

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** An Ajv for JSON Schema 2020-12 holding the document, so `#/components/…` references resolve inside it. */
export function documentAjv(): Ajv2020 {
  if (!ajv) {
    // Money is a multipleOf 0.0001: compared with a tolerance, as 10000.1 / 0.0001 is not a whole double.
    ajv = new Ajv2020({ allErrors: true, strict: false, multipleOfPrecision: 8 });
    addFormats(ajv);
    ajv.addFormat('decimal', true);
    ajv.addSchema({ ...DOCUMENT, $id: DOCUMENT_ID });
  }
  return ajv;
}

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The compiled validator of the schema at a JSON pointer of the document. */
export function validatorAt(path: string): ValidateFunction {
  let validate = validators.get(path);
  if (!validate) {
    validate = documentAjv().compile({ $ref: `${DOCUMENT_ID}#/${path}` });
    validators.set(path, validate);
  }
  return validate;
}

/** Path templates, those with fewer parameters first: `/process-request/progress` before `/process-request/{id}`. */
const TEMPLATES = Object.keys(DOCUMENT.paths)
  .map((template) => ({
    template,
    params: (template.match(/\{/g) ?? []).length,
    regex: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }))
  .sort((a, b) => a.params - b.params);

export function matchPath(path: string): string | undefined {
  return TEMPLATES.find((t) => t.regex.test(path))?.template;
}

/** Paths outside the REST facade (GraphQL, its explorer): other checks cover them. */
const OUTSIDE = /^\/graphql(\/|$)/;

export interface Received {
  method: string;
  /** Path and query, or a whole URL. */
  url: string;
  status: number;
  contentType: string | undefined;
  /** The parsed JSON body, when the body is JSON; otherwise anything (not looked at). */
  body: unknown;
  /** Whether a body was received at all. */
  hasBody: boolean;
  allow?: string;
}

interface ResponseObject {
  pointer: string;
  response: Json;
}

/** A documented response (following a `#/components/responses/…` reference). */
function documentedResponse(template: string, method: string, status: number): ResponseObject | undefined {
  const operation = DOCUMENT.paths[template][method] as Json | undefined;
  const responses = operation?.responses as Record<string, Json> | undefined;
  const response = responses?.[String(status)];
  if (!response) return undefined;
  const ref = response.$ref as string | undefined;
  if (ref) {
    const name = ref.replace('#/components/responses/', '');
    return {
      pointer: pointer('components', 'responses', name),
      response: DOCUMENT.components.responses[name],
    };
  }
  return { pointer: pointer('paths', template, method, 'responses', String(status)), response };
}

const errorResponse = (status: number): ResponseObject => ({
  pointer: pointer('components', 'responses', `Error${status}`),
  response: DOCUMENT.components.responses[`Error${status}`],
});

function fail(received: Received, problem: string): never {
  const body = typeof received.body === 'string' ? received.body : JSON.stringify(received.body);
  throw new Error(
    `OpenAPI: ${received.method} ${received.url} answered ${received.status} (${received.contentType ?? 'no content type'}): ${problem}\nbody: ${body?.slice(0, 1000)}`,
  );
}

function checkAgainst(received: Received, { pointer: at, response }: ResponseObject, method: string): void {
  const content = response.content as Record<string, Json> | undefined;
  if (!content) {
    if (received.hasBody) fail(received, 'the document says this answer has no body');
    return;
  }
  if (method === 'head') return;
  const mediaType = received.contentType?.split(';')[0].trim().toLowerCase();
  if (!mediaType || !content[mediaType]) {
    fail(received, `content type not documented (documented: ${Object.keys(content).join(', ')})`);
  }
  if (mediaType !== 'application/json') return;
  const validate = validatorAt(`${at}/${pointer('content', mediaType, 'schema')}`);
  if (!validate(received.body)) {
    fail(received, `body does not match the schema: ${documentAjv().errorsText(validate.errors)}`);
  }
}

/** Throws unless the answer is what the document says the route and method answer. */
export function checkResponse(received: Received): void {
  const url = new URL(received.url, 'http://service.invalid');
  if (OUTSIDE.test(url.pathname)) return;
  const template = matchPath(url.pathname);
  if (!template) {
    if (received.status !== 404) fail(received, 'a path the document does not have, answered other than 404');
    return checkAgainst(received, errorResponse(404), 'get');
  }
  const method = received.method.toLowerCase();
  const item = DOCUMENT.paths[template];
  if (method === 'options') {
    if (received.status !== 204) fail(received, 'OPTIONS on a known path answers 204');
    return;
  }
  const operation = method === 'head' ? 'get' : method;
  if (!item[operation]) {
    if (received.status !== 405 || !received.allow)
      fail(received, 'an undocumented method is 405 with Allow');
    return checkAgainst(received, errorResponse(405), method);
  }
  const documented = documentedResponse(template, operation, received.status);
  if (!documented)
    fail(received, `status ${received.status} is not documented for ${operation.toUpperCase()} ${template}`);
  checkAgainst(received, documented, method);
}

/** The check as a supertest assertion (supertest runs it when the request is awaited or ended). */
function supertestCheck(method: string, url: string) {
  return (res: supertest.Response) => {
    const text = (res as unknown as { text?: string }).text;
    checkResponse({
      method,
      url,
      status: res.status,
      contentType: res.headers['content-type'],
      body: res.type === 'application/json' ? res.body : text,
      hasBody: (text ?? '') !== '' || (res.body !== undefined && Object.keys(res.body ?? {}).length > 0),
      allow: res.headers.allow,
    });
  };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'del']);

/** supertest whose every request checks its answer against the document. */
export function checked<T extends object>(agent: T): T {
  return new Proxy(agent, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof name !== 'string' || !METHODS.has(name) || typeof value !== 'function') return value;
      return (url: string, ...rest: unknown[]) => {
        const test = (value as (...a: unknown[]) => supertest.Test).call(target, url, ...rest);
        return test.expect(supertestCheck(name === 'del' ? 'DELETE' : name.toUpperCase(), url));
      };
    },
  });
}

/** fetch, with the answer checked against the document (an SSE body is left unread for the caller). */
export async function checkedFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  const contentType = res.headers.get('content-type') ?? undefined;
  const streaming = contentType?.startsWith('text/event-stream');
  const text = streaming ? '' : await res.clone().text();
  let body: unknown = text;
  if (contentType?.startsWith('application/json') && text !== '') body = JSON.parse(text);
  checkResponse({
    method: init?.method ?? 'GET',
    url: String(input),
    status: res.status,
    contentType,
    body,
    hasBody: streaming || text !== '',
    allow: res.headers.get('allow') ?? undefined,
  });
  return res;
}

/** Checks a progress event (an SSE frame's data) against the document's ProgressEvent. */
export function checkProgressEvent(event: unknown): void {
  const validate = validatorAt(pointer('components', 'schemas', 'ProgressEvent'));
  if (!validate(event)) {
    throw new Error(
      `OpenAPI: progress event ${JSON.stringify(event)}: ${documentAjv().errorsText(validate.errors)}`,
    );
  }
}
