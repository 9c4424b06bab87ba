// The OpenAPI path item of progress.routes.ts: the SSE stream.
import { lastEventId } from '../shapes/inputs';
import {
  AUTHENTICATED,
  errors,
  param,
  partnerId,
  REST_BASE_PATH,
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
          'one whose tokens expire ends with `: UNAUTHENTICATED` (resume with fresh tokens and Last-Event-ID).',
        parameters: [
          partnerId,
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
  };
}
