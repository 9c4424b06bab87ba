import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A one-use ticket for one progress stream (SPEC section 20), for clients that cannot send headers
 * (a browser's EventSource). Only the ticket's SHA-256 is stored; redeeming it deletes the row, so a
 * ticket opens one connection, on any server process. Written and read by SQL in src/sql/stream-tickets.ts.
 */
@Entity({ tableName: 'stream_ticket' })
export class StreamTicket {
  [OptionalProps]?: 'createdAt';

  /** SHA-256 of the ticket, hex. */
  @PrimaryKey({ type: 'string', length: 64 })
  id!: string;

  /** The operator who asked for it (no foreign key: a ticket lives a minute). */
  @Property({ type: 'uuid' })
  operatorId!: string;

  /** The partner whose stream it opens. */
  @Property({ type: 'uuid' })
  clientId!: string;

  /** Past this the ticket opens nothing (60 s after it was issued). */
  @Property({ type: 'Date', columnType: 'timestamptz' })
  expiresAt!: Date;

  /** When the tokens it was issued with stop verifying: the stream it opens ends then. */
  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  validUntil?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
