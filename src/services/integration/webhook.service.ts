// Partner webhook endpoints, their delivery log, replay and the events feed (SPEC section 16). Endpoints
// are ADMIN's (manage-webhooks); the feed is any reader's. The relay (src/runtime/webhook-relay.ts) sends.
import { lookup } from 'node:dns/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { WebhookConfig } from '../../config';
import { requirePartner } from '../../domain/access';
import type { ServiceContext } from '../../domain/context';
import { DomainError } from '../../domain/errors';
import { nonPublicReason } from '../../domain/network-address';
import { newWebhookSecret } from '../../domain/webhook-signature';
import { WebhookAttempt } from '../../entities/webhook-attempt.entity';
import { WebhookDelivery, WebhookDeliveryStatus } from '../../entities/webhook-delivery.entity';
import { WebhookEndpoint, WebhookEndpointStatus } from '../../entities/webhook-endpoint.entity';
import { refusalBeforeConnect } from '../../runtime/webhook-sender';
import { feedRows } from '../../sql/webhook-sql';
import type {
  DeliveryQuery,
  EventsQuery,
  WebhookEndpointChanges,
  WebhookEndpointInput,
} from '../../shapes/webhook-inputs';
import { feedItemOf, type FeedItem } from '../../shapes/webhook-message';
import {
  toWebhookDeliveryView,
  toWebhookEndpointView,
  type WebhookDeliveryPage,
  type WebhookEndpointView,
} from '../../shapes/webhook-views';
import { decryptSecret, encryptSecret } from '../identity/secret-box';

export interface CreatedEndpoint {
  endpoint: WebhookEndpointView;
  /** Shown this once; only its sealed form is stored. */
  secret: string;
}

export interface EventsPage {
  items: FeedItem[];
  /** The cursor for the next call (the last item's id, or the `after` given when there was none). */
  next: string;
}

/**
 * Refuses a URL the sender would refuse: outside private networks, http, an address that is not public,
 * or a host name that resolves to one (checked again on the connected address at every send).
 */
export async function checkWebhookUrl(value: string, allowPrivateNetworks: boolean): Promise<void> {
  const url = new URL(value);
  const refuse = (why: string) => {
    throw new DomainError('WEBHOOK_URL_FORBIDDEN', `url: ${why}`, { field: 'url' });
  };
  if (url.username || url.password) refuse('must not carry credentials');
  if (url.hash) refuse('must not have a fragment');
  const before = refusalBeforeConnect(url, allowPrivateNetworks);
  if (before) refuse(before);
  if (allowPrivateNetworks) return;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(url.hostname, { all: true });
  } catch {
    return refuse(`${url.hostname} does not resolve`);
  }
  const bad = addresses.find((a) => nonPublicReason(a.address) !== undefined);
  if (bad) refuse(`${url.hostname} resolves to ${bad.address} (${nonPublicReason(bad.address)})`);
}

export class WebhookService {
  constructor(
    private readonly config: WebhookConfig,
    private readonly key: Buffer,
    /**
     * Wakes this process's relay (a retry or recover is sent at once); with an endpoint that changed, the
     * relay also drops what it had queued for it, read before the change.
     */
    private readonly wake: (endpointId?: string) => void = () => undefined,
  ) {}

  /** Creates an endpoint; its cursor starts at the partner's latest event (it hears what happens next). */
  async create(em: EntityManager, partnerId: string, input: WebhookEndpointInput): Promise<CreatedEndpoint> {
    await checkWebhookUrl(input.url, this.config.allowPrivateNetworks);
    const secret = newWebhookSecret();
    const [latest] = await em.execute<{ id: string }[]>(
      'select coalesce(max(id), 0)::text as id from process_request_event where client_id = ?',
      [partnerId],
    );
    const endpoint = em.create(WebhookEndpoint, {
      partnerId,
      url: input.url,
      eventTypes: input.eventTypes,
      description: input.description,
      secretSealed: encryptSecret(this.key, secret),
      cursorEventId: latest?.id ?? '0',
    });
    await em.flush();
    return { endpoint: toWebhookEndpointView(endpoint), secret };
  }

  async list(em: EntityManager, partnerId: string): Promise<WebhookEndpointView[]> {
    const rows = await em.find(WebhookEndpoint, { partnerId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(toWebhookEndpointView);
  }

  private async endpointOf(em: EntityManager, partnerId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await em.findOne(WebhookEndpoint, { id, partnerId });
    if (!endpoint) throw new DomainError('NOT_FOUND', 'Webhook endpoint not found');
    return endpoint;
  }

  /** Deletes an endpoint with its deliveries and their attempts. */
  async remove(em: EntityManager, partnerId: string | null, id: string): Promise<void> {
    await em.transactional(async (tx) => {
      const [found] = await tx.execute<{ id: string }[]>(
        `select id from webhook_endpoint where id = ? ${partnerId ? 'and client_id = ?' : ''} for update`,
        partnerId ? [id, partnerId] : [id],
      );
      if (!found) throw new DomainError('NOT_FOUND', 'Webhook endpoint not found');
      await tx.execute(
        'delete from webhook_attempt where delivery_id in (select id from webhook_delivery where endpoint_id = ?)',
        [id],
      );
      await tx.execute('delete from webhook_delivery where endpoint_id = ?', [id]);
      await tx.execute('delete from webhook_endpoint where id = ?', [id]);
    });
    this.wake(id);
  }

  // --- The doors' calls: the partner and the permission checked first. ---

  async createFor(
    ctx: ServiceContext,
    partnerId: string,
    input: WebhookEndpointInput,
  ): Promise<CreatedEndpoint> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    const created = await this.create(ctx.em, partnerId, input);
    ctx.log.info({ partnerId, endpointId: created.endpoint.id, url: input.url }, 'webhook endpoint created');
    return created;
  }

  async listFor(ctx: ServiceContext, partnerId: string): Promise<WebhookEndpointView[]> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    return this.list(ctx.em, partnerId);
  }

  async get(ctx: ServiceContext, partnerId: string, id: string): Promise<WebhookEndpointView> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    return toWebhookEndpointView(await this.endpointOf(ctx.em, partnerId, id));
  }

  async update(
    ctx: ServiceContext,
    partnerId: string,
    id: string,
    changes: WebhookEndpointChanges,
  ): Promise<WebhookEndpointView> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    if (changes.url !== undefined) await checkWebhookUrl(changes.url, this.config.allowPrivateNetworks);
    const endpoint = await this.endpointOf(ctx.em, partnerId, id);
    if (changes.url !== undefined) endpoint.url = changes.url;
    if (changes.eventTypes !== undefined) endpoint.eventTypes = changes.eventTypes;
    if (changes.description !== undefined) endpoint.description = changes.description;
    if (changes.status !== undefined && changes.status !== endpoint.status) {
      endpoint.status = changes.status;
      endpoint.disabledReason =
        changes.status === WebhookEndpointStatus.DISABLED ? 'Disabled by an operator' : null;
      // Re-enabled: failures before it no longer count towards disabling it again.
      if (changes.status === WebhookEndpointStatus.ENABLED) endpoint.failingSince = null;
    }
    endpoint.updatedAt = new Date();
    await ctx.em.flush();
    this.wake(endpoint.id);
    return toWebhookEndpointView(endpoint);
  }

  async removeFor(ctx: ServiceContext, partnerId: string, id: string): Promise<void> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    await this.remove(ctx.em, partnerId, id);
  }

  /**
   * A new secret; the one in force until now keeps signing beside it for the overlap (one previous secret:
   * a secret rotated out earlier stops signing). One statement that reads the secret it rotates out as it
   * writes: concurrent rotations queue on the row's lock and each rotates out the one before it, so every
   * secret handed out signs. Read first and written later, the loser's secret was overwritten unused.
   */
  async rotate(ctx: ServiceContext, partnerId: string, id: string): Promise<{ secret: string }> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    const secret = newWebhookSecret();
    const overlap = this.config.secretOverlapSeconds;
    const rows = await ctx.em.execute<{ id: string }[]>(
      `update webhook_endpoint
          set previous_secret_sealed = ${overlap > 0 ? 'secret_sealed' : 'null'},
              previous_secret_until = ?, secret_sealed = ?, updated_at = now()
        where id = ? and client_id = ? returning id`,
      [
        overlap > 0 ? new Date(Date.now() + overlap * 1000) : null,
        encryptSecret(this.key, secret),
        id,
        partnerId,
      ],
    );
    if (rows.length === 0) throw new DomainError('NOT_FOUND', 'Webhook endpoint not found');
    this.wake(id);
    return { secret };
  }

  async deliveries(
    ctx: ServiceContext,
    partnerId: string,
    endpointId: string,
    query: DeliveryQuery,
  ): Promise<WebhookDeliveryPage> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    await this.endpointOf(ctx.em, partnerId, endpointId);
    const where = { endpointId, ...(query.status ? { status: query.status } : {}) };
    const [rows, total] = await ctx.em.findAndCount(WebhookDelivery, where, {
      orderBy: { createdAt: 'desc', eventId: 'desc' },
      limit: query.limit,
      offset: (query.page - 1) * query.limit,
    });
    const attempts = rows.length
      ? await ctx.em.find(
          WebhookAttempt,
          { deliveryId: { $in: rows.map((r) => r.id) } },
          { orderBy: { id: 'asc' } },
        )
      : [];
    return {
      items: rows.map((d) =>
        toWebhookDeliveryView(
          d,
          attempts.filter((a) => a.deliveryId === d.id),
        ),
      ),
      page: query.page,
      limit: query.limit,
      total,
      totalPages: Math.ceil(total / query.limit),
    };
  }

  /** Sends a delivery again now, with the same webhook-id (a success too: the receiver asked for it). */
  async retry(ctx: ServiceContext, partnerId: string, endpointId: string, deliveryId: string): Promise<void> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    await this.endpointOf(ctx.em, partnerId, endpointId);
    const rows = await ctx.em.execute<{ id: string }[]>(
      `update webhook_delivery set status = 'PENDING', next_attempt_at = now(), updated_at = now()
        where id = ? and endpoint_id = ? returning id`,
      [deliveryId, endpointId],
    );
    if (rows.length === 0) throw new DomainError('NOT_FOUND', 'Webhook delivery not found');
    this.wake();
  }

  /** Every FAILED delivery of the endpoint created since `since` is sent again. */
  async recover(
    ctx: ServiceContext,
    partnerId: string,
    endpointId: string,
    since: Date,
  ): Promise<{ requeued: number }> {
    await requirePartner(ctx, partnerId, 'manage-webhooks');
    await this.endpointOf(ctx.em, partnerId, endpointId);
    const rows = await ctx.em.execute<{ id: string }[]>(
      `update webhook_delivery set status = 'PENDING', next_attempt_at = now(), updated_at = now()
        where endpoint_id = ? and status = ? and created_at >= ? returning id`,
      [endpointId, WebhookDeliveryStatus.FAILED, since],
    );
    this.wake();
    return { requeued: rows.length };
  }

  /** The partner's stored events after a cursor, oldest first, in the webhook body's shape plus id. */
  async events(ctx: ServiceContext, partnerId: string, query: EventsQuery): Promise<EventsPage> {
    await requirePartner(ctx, partnerId, 'read');
    const rows = await feedRows(ctx.em, partnerId, query.after, query.limit, query.types);
    const items = rows.map(feedItemOf);
    return { items, next: items.length ? items[items.length - 1].id : query.after.toString() };
  }

  openSecret(sealed: string): string {
    return decryptSecret(this.key, sealed);
  }
}
