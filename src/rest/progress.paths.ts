// The OpenAPI path items of progress.routes.ts: the SSE stream and its one-use ticket.
import { lastEventId } from '../shapes/inputs';
import {
  AUTHENTICATED,
  errors,
  ok,
  param,
  partnerId,
  REST_BASE_PATH,
  schema,
  type PathItems,
} from './openapi/operations';
import { fromInput } from './openapi/schemas';

export function progressPaths(): PathItems {
  return {
    [`${REST_BASE_PATH}/process-request/progress`]: {
      get: {
        operationId: 'streamProgress',
        tags: ['Progress'],
        summary: "The partner's progress events, live (Server-Sent Events; any role)",
        description:
          'Unnamed frames: an `id:` line and a `data:` line holding a ProgressEvent as JSON; a `: ping` comment ' +
          'every SSE_HEARTBEAT_SECONDS. With Last-Event-ID (or ?lastEventId=) the stored events after it come first. ' +
          'A stream whose operator loses the right to read ends with a comment naming the code (`: OPERATOR_INACTIVE`); ' +
          'one whose tokens expire ends with `: UNAUTHENTICATED` (resume with fresh tokens and Last-Event-ID). ' +
          'A browser (EventSource cannot send headers) passes `?ticket=` from POST …/progress/ticket instead of both tokens.',
        security: [{ appToken: [], userToken: [] }, { streamTicket: [] }],
        parameters: [
          partnerId,
          param(
            'ticket',
            'query',
            { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
            'A one-use ticket (POST …/process-request/progress/ticket) instead of the two credential headers',
          ),
          param('Last-Event-ID', 'header', fromInput(lastEventId), 'Resume after this stored event id'),
          param(
            'lastEventId',
            'query',
            fromInput(lastEventId),
            'The same, for clients that cannot set headers',
          ),
        ],
        responses: {
          '200': {
            description: 'The stream (see ProgressEvent for the data of each frame)',
            content: {
              'text/event-stream': {
                schema: { type: 'string' },
                example:
                  'id: 42\ndata: {"id":"42","clientId":"7c9e6679-…","processRequestId":"60019173-…","type":"CREATED","status":"PENDING","at":"2026-03-01T10:00:00.000Z"}\n\n',
              },
            },
          },
          ...errors(...AUTHENTICATED, 429),
        },
      },
    },
    [`${REST_BASE_PATH}/process-request/progress/ticket`]: {
      post: {
        operationId: 'createProgressTicket',
        tags: ['Progress'],
        summary: 'A one-use ticket to open the progress stream from a browser (any role)',
        description:
          'Good for one connection to GET …/process-request/progress?ticket=… within 60 seconds, bound to this ' +
          'operator and partner. The stream it opens still ends when the operator loses access or the tokens ' +
          'that asked for it expire.',
        parameters: [partnerId],
        responses: { '201': ok('The ticket', schema('StreamTicket')), ...errors(...AUTHENTICATED) },
      },
    },
  };
}
