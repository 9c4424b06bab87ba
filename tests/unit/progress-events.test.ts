// The one progress event shape, and the two views every door makes from it.
import { ProgressEventType } from '../../src/entities/process-request-event.entity';
import { ProcessRequestStatus } from '../../src/entities/process-request.entity';
import { eventOfRow, type EventRow } from '../../src/sql/progress';
import { toHistoryEntryView, toProgressEventView } from '../../src/shapes/views';

const row: EventRow = {
  id: '42',
  process_request_id: 'b1f2c3d4-0000-4000-8000-000000000001',
  client_id: 'a1f2c3d4-0000-4000-8000-000000000002',
  type: ProgressEventType.APPROVED,
  actor_id: 'c1f2c3d4-0000-4000-8000-000000000003',
  from_status: ProcessRequestStatus.PENDING,
  to_status: ProcessRequestStatus.APPROVED,
  data: { reason: 'matches', available: '10000.5000' },
  created_at: new Date('2026-03-01T10:00:00.000Z'),
};

test('a stored row becomes the internal event, which survives the trip through NOTIFY unchanged', () => {
  const event = eventOfRow(row);
  expect(event).toEqual({
    id: '42',
    partnerId: row.client_id,
    processRequestId: row.process_request_id,
    type: 'APPROVED',
    actorId: row.actor_id,
    fromStatus: 'PENDING',
    toStatus: 'APPROVED',
    data: { reason: 'matches', available: '10000.5000' },
    at: '2026-03-01T10:00:00.000Z',
  });
  expect(JSON.parse(JSON.stringify(event))).toEqual(event);
});

test('the progress view: SPEC section 7 fields, the status after the change, the balance scaled to the currency', () => {
  const view = toProgressEventView(eventOfRow(row), 'USD');
  expect(JSON.parse(JSON.stringify(view))).toEqual({
    id: '42',
    clientId: row.client_id,
    processRequestId: row.process_request_id,
    type: 'APPROVED',
    status: 'APPROVED',
    available: '10000.50',
    at: '2026-03-01T10:00:00.000Z',
  });
  expect(toProgressEventView(eventOfRow({ ...row, data: null }), 'JPY')).not.toHaveProperty('available');
});

test('an unstored upload event has no id and carries its percent; a FAILED one its code and the status it left', () => {
  const upload = toProgressEventView(
    {
      ...eventOfRow(row),
      id: null,
      type: ProgressEventType.EVIDENCE_UPLOADING,
      fromStatus: null,
      toStatus: null,
      data: { percent: 50 },
    },
    'USD',
  );
  expect(upload).toMatchObject({ id: null, status: null, percent: 50 });
  const failed = toProgressEventView(
    {
      ...eventOfRow(row),
      type: ProgressEventType.FAILED,
      fromStatus: null,
      toStatus: null,
      data: { code: 'OTP_INVALID' },
    },
    'USD',
  );
  expect(failed).toMatchObject({ type: 'FAILED', code: 'OTP_INVALID', status: null });
});

test('the history view: who, what, when and the reason', () => {
  expect(toHistoryEntryView(eventOfRow(row))).toEqual({
    id: '42',
    type: 'APPROVED',
    actorId: row.actor_id,
    fromStatus: 'PENDING',
    toStatus: 'APPROVED',
    reason: 'matches',
    at: new Date('2026-03-01T10:00:00.000Z'),
  });
});
