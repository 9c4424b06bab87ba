// The OpenAPI path items of health.routes.ts.
import { ok, schema, type PathItems } from './openapi/operations';

export function healthPaths(): PathItems {
  return {
    '/healthz': {
      get: {
        operationId: 'liveness',
        tags: ['Health'],
        summary: 'The process is up',
        security: [],
        responses: { '200': ok('Up', schema('Health')) },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        tags: ['Health'],
        summary: 'The database and blob storage are reachable',
        security: [],
        responses: {
          '200': ok('Ready', schema('Readiness')),
          '503': ok('A dependency is unreachable', schema('Readiness')),
        },
      },
    },
  };
}
