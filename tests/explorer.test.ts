// The GraphQL explorer (SPEC section 15): a page and every asset it references come from the service
// itself; nothing points elsewhere. On by default outside production, GRAPHQL_EXPLORER turns it on or off.
import { loadConfig } from '../src/config';
import { SELF_ONLY_CSP } from '../src/http/static-assets';
import { createWorld, type World } from './support/world';
import { PRODUCTION_ENV } from './support/production-env';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world?.close());

/** Every src= and href= of a page. */
const references = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);

test('GET /graphql in a browser serves the explorer page, and every asset it names loads from the service', async () => {
  const page = await fetch(`${world.baseUrl}/graphql`, { headers: { accept: 'text/html,*/*;q=0.8' } });
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(page.headers.get('content-security-policy')).toBe(SELF_ONLY_CSP);
  const html = await page.text();
  expect(html).not.toMatch(/https?:|\/\/[a-z]/i); // no outside URL at all, not even protocol-relative

  const refs = references(html);
  expect(refs.sort()).toEqual([
    '/graphql/explorer/graphiql.min.css',
    '/graphql/explorer/graphiql.min.js',
    '/graphql/explorer/react-dom.production.min.js',
    '/graphql/explorer/react.production.min.js',
    '/graphql/explorer/start.js',
  ]);
  for (const ref of refs) {
    const res = await fetch(`${world.baseUrl}${ref}`);
    expect({ ref, status: res.status }).toEqual({ ref, status: 200 });
    expect(res.headers.get('content-type')).toMatch(
      ref.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
    );
    const body = await res.text();
    expect(body.length).toBeGreaterThan(ref.endsWith('start.js') ? 100 : 5000);
    // Stylesheets pull nothing in (fonts are data: URLs); scripts start nothing from elsewhere.
    if (ref.endsWith('.css')) {
      expect(body).not.toMatch(/@import/);
      for (const [, url] of body.matchAll(/url\(\s*['"]?([^'")]*)/g)) expect(url).toMatch(/^(data:|#)/);
    }
    expect(body).not.toMatch(/https?:\/\/[^"'\s]*\.(js|css|woff2?)\b/);
  }
  // The page starts GraphiQL against this service's own endpoint.
  const start = await (await fetch(`${world.baseUrl}/graphql/explorer/start.js`)).text();
  expect(start).toContain('GraphiQL.createFetcher({ url: "/graphql" })');
  expect(start).toContain('shouldPersistHeaders: false');
});

test('the explorer page answers browsers only: GraphQL over GET and POST is unchanged', async () => {
  const post = await fetch(`${world.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(post.status).toBe(401); // no credentials: the usual refusal, as JSON
  expect(post.headers.get('content-type')).toMatch(/json/);

  const get = await fetch(`${world.baseUrl}/graphql?query=%7B__typename%7D`, {
    headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
  });
  expect(get.headers.get('content-type')).toMatch(/json/);
  expect(await get.text()).not.toContain('<html');
});

test('an unknown asset name is a 404, not a file read', async () => {
  for (const name of ['nope.js', '..%2Fpackage.json', '__proto__', 'constructor']) {
    const res = await fetch(`${world.baseUrl}/graphql/explorer/${name}`);
    expect(res.status).toBe(404);
  }
});

test('GRAPHQL_EXPLORER=false keeps the previous behaviour: no page of ours, no assets', async () => {
  const off = await createWorld({ GRAPHQL_EXPLORER: 'false' });
  try {
    const page = await fetch(`${off.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-security-policy')).toBeNull();
    expect(await page.text()).not.toContain('/graphql/explorer/');
    expect((await fetch(`${off.baseUrl}/graphql/explorer/graphiql.min.js`)).status).toBe(404);
  } finally {
    await off.close();
  }
});

test('with the explorer off, a browser on GET /graphql gets no page that loads anything from another host', async () => {
  // Apollo picks its own landing page (CDN scripts, Google Fonts) from process.env.NODE_ENV when it is built.
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  let off: World | undefined;
  try {
    off = await createWorld({ GRAPHQL_EXPLORER: 'false' });
  } finally {
    process.env.NODE_ENV = before;
  }
  try {
    const page = await fetch(`${off.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    const text = await page.text();
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toMatch(/<script|<link/i);
    expect(page.headers.get('content-type')).not.toMatch(/text\/html/);
  } finally {
    await off.close();
  }
});

test('production has the explorer off unless GRAPHQL_EXPLORER=true', () => {
  const production = PRODUCTION_ENV;
  expect(loadConfig(production).graphqlExplorer).toBe(false);
  expect(loadConfig({ ...production, GRAPHQL_EXPLORER: 'true' }).graphqlExplorer).toBe(true);
  expect(loadConfig({}).graphqlExplorer).toBe(true);
  expect(() => loadConfig({ GRAPHQL_EXPLORER: 'yes' })).toThrow(/^GRAPHQL_EXPLORER: must be true or false$/);
});
