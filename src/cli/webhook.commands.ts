// CLI commands for partner webhooks (SPEC section 16): create (prints the secret, once), list, delete.
import { loadPartner } from '../domain/access';
import { DomainError } from '../domain/errors';
import { id, parseInput } from '../shapes/inputs';
import { webhookEndpointInput } from '../shapes/webhook-inputs';
import { WebhookService } from '../services/integration/webhook.service';
import { type CommandHandler, text, UsageError } from './flags';

export const WEBHOOK_COMMANDS: Record<string, CommandHandler> = {
  async 'webhook:create'(orm, flags, config) {
    const partnerId = parseInput(id, text(flags, 'partner'), 'partner');
    if (flags['event-types'] === true) throw new UsageError('--event-types needs a,b,…');
    const input = parseInput(webhookEndpointInput, {
      url: text(flags, 'url'),
      eventTypes: flags['event-types'],
      description: typeof flags.description === 'string' ? flags.description : undefined,
    });
    const em = orm.em.fork();
    if (!(await loadPartner(em, partnerId))) throw new DomainError('NOT_FOUND', 'Partner not found');
    const { endpoint, secret } = await new WebhookService(config.webhooks, config.otpEncryptionKey).create(
      em,
      partnerId,
      input,
    );
    return { ...endpoint, secret };
  },
  async 'webhook:list'(orm, flags, config) {
    const partnerId = parseInput(id, text(flags, 'partner'), 'partner');
    const items = await new WebhookService(config.webhooks, config.otpEncryptionKey).list(
      orm.em.fork(),
      partnerId,
    );
    return { items };
  },
  async 'webhook:delete'(orm, flags, config) {
    const endpointId = parseInput(id, text(flags, 'endpoint'), 'endpoint');
    await new WebhookService(config.webhooks, config.otpEncryptionKey).remove(
      orm.em.fork(),
      null,
      endpointId,
    );
    return { id: endpointId, deleted: true };
  },
};
