// The service layer as one object, built once per app from its dependencies.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { EvidenceStore } from '../storage/evidence-store';
import { ProcessRequestQueryService } from './process-request-query.service';
import { OtpService } from './otp.service';
import { ProcessRequestService } from './process-request.service';

export interface Services {
  config: Config;
  log: Logger;
  orm: MikroORM;
  store: EvidenceStore;
  processRequests: ProcessRequestService;
  queries: ProcessRequestQueryService;
}

export function createServices(config: Config, log: Logger, orm: MikroORM, store: EvidenceStore): Services {
  return {
    config,
    log,
    orm,
    store,
    processRequests: new ProcessRequestService(store, new OtpService(config.otpEncryptionKey)),
    queries: new ProcessRequestQueryService(store, config.sasTtlSeconds),
  };
}
