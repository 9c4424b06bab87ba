// The GraphQL shape of a progress event (SPEC section 7), as processRequestProgress delivers it.
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ProgressEventType } from '../entities/process-request-event.entity';
import { ProcessRequestStatus } from '../entities/process-request.entity';
import type { Decimal } from '../domain/money';
import { DecimalScalar } from '../graphql/decimal.scalar';
// Registers the two enums under their GraphQL names before this type uses them.
import '../graphql/enums';
import type { Shape } from '../graphql/shape';
import type { ProgressEventView } from '../shapes/views';

@ObjectType('ProgressEvent', { description: 'A change to a process request of the partner being watched' })
export class ProgressEventObject implements Shape<ProgressEventView, ProgressEventObject> {
  @Field(() => ID, {
    nullable: true,
    description: 'Stored event id (monotonic); null for EVIDENCE_UPLOADING, which is not stored',
  })
  id!: string | null;

  @Field(() => ID)
  clientId!: string;

  @Field(() => ID)
  processRequestId!: string;

  @Field(() => ProgressEventType)
  type!: ProgressEventType;

  @Field(() => Int, { nullable: true, description: 'Upload progress 0-99, with EVIDENCE_UPLOADING' })
  percent?: number;

  @Field(() => ProcessRequestStatus, { nullable: true })
  status!: ProcessRequestStatus | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Balance after the credit, with APPROVED' })
  available?: Decimal;

  @Field(() => String, { nullable: true, description: 'Error code, with FAILED' })
  code?: string;

  @Field(() => Int, { nullable: true, description: 'Approvals so far, with APPROVAL_RECORDED' })
  approvals?: number;

  @Field(() => Int, { nullable: true, description: 'Approvals the request needs, with APPROVAL_RECORDED' })
  requiredApprovals?: number;

  @Field(() => Date)
  at!: Date;
}
