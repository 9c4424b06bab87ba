// The webhook CLI commands (SPEC section 16): create prints the endpoint and its secret once, list never
// shows a secret, delete removes it; the endpoint created works: a message reaches a real receiver.
import { runCli } from '../src/cli/run';
import { waitUntil } from './support/crash-storm';
import { startReceiver } from './support/webhook-receiver';
import { createWorld, type World } from './support/world';

let world: World;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  world = await createWorld();
  env = { NODE_ENV: 'test', DATABASE_URL: world.databaseUrl, LOG_LEVEL: 'silent' };
});
afterAll(() => world?.close());

async function cli(...argv: string[]): Promise<Record<string, unknown>> {
  const result = await runCli(argv, env);
  expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 0, stderr: '' });
  return JSON.parse(result.stdout);
}

test('webhook:create, webhook:list and webhook:delete', async () => {
  const team = await world.team('Cli hooks');
  const receiver = await startReceiver();
  try {
    const created = await cli(
      'webhook:create',
      '--partner',
      team.partner.id,
      '--url',
      receiver.url,
      '--event-types',
      'process_request.created',
    );
    expect(created).toMatchObject({
      id: expect.any(String),
      url: receiver.url,
      eventTypes: ['process_request.created'],
      status: 'ENABLED',
      secret: expect.stringMatching(/^whsec_/),
    });
    receiver.secrets.push(created.secret as string);
    const listed = await cli('webhook:list', '--partner', team.partner.id);
    expect(listed.items).toEqual([expect.objectContaining({ id: created.id })]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');

    await world.createInProcess(team.partner.id, team.maker);
    expect(await waitUntil(async () => receiver.received.length === 1, 15_000)).toBe(true);
    expect(receiver.received[0].verifiedBy).toEqual([0]);

    expect(await cli('webhook:delete', '--endpoint', created.id as string)).toEqual({
      id: created.id,
      deleted: true,
    });
    expect((await cli('webhook:list', '--partner', team.partner.id)).items).toEqual([]);
    const again = await runCli(['webhook:delete', '--endpoint', created.id as string], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/NOT_FOUND/);
    const bad = await runCli(['webhook:create', '--partner', team.partner.id, '--url', 'ftp://x'], env);
    expect(bad.stderr).toMatch(/VALIDATION_FAILED: url must be an http\(s\) URL/);
  } finally {
    await receiver.close();
  }
});
