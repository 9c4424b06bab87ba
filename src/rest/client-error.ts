// Requests Node's HTTP parser refuses before Koa sees them (oversized or malformed headers): the usual
// JSON error body, not a bare status line.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger';
import { ERRORS, type ErrorCode } from '../services/errors';

const BY_PARSER_CODE: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A peer that went away, or a response already under way: nothing sensible can be written.
    if (
      error.code === 'ECONNRESET' ||
      !socket.writable ||
      (socket as Duplex & { _httpMessage?: unknown })._httpMessage
    ) {
      socket.destroy();
      return;
    }
    const code = BY_PARSER_CODE[error.code ?? ''] ?? 'MALFORMED_REQUEST';
    const { status, message } = ERRORS[code];
    log.info({ code, parserCode: error.code }, 'request refused by the HTTP parser');
    const body = JSON.stringify({ statusCode: status, code, message });
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
