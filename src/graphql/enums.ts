// The enums GraphQL shares between the query types and the subscription's, registered once under their names.
import { registerEnumType } from 'type-graphql';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequestStatus } from '../entities/process-request.entity';

registerEnumType(ProcessRequestStatus, { name: 'ProcessRequestStatus' });
registerEnumType(ProgressEventType, { name: 'ProgressEventType' });
