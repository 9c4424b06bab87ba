// Requests Koa never sees: those Node's HTTP parser refuses (oversized or malformed headers, a method it
// does not know, such as a lower-case one) and CONNECT, which Node hands to a 'connect' listener or
// drops; and requests whose body is still arriving when REQUEST_TIMEOUT_SECONDS is up. They get the usual JSON error body, not a bare status line or a closed socket.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger';
import { ERRORS, type ErrorCode } from '../domain/errors';
import type { AllowedMethods } from './methods';

const BY_PARSER_CODE: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};
/** A request line with a method that is a valid token (RFC 9110), whatever its case. */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]\r?$/;

/** The usual JSON error answer, status and headers; the connection closes after it. */
function errorAnswer(code: ErrorCode, extra: Record<string, string> = {}, message?: string) {
  const { status } = ERRORS[code];
  const body = JSON.stringify({ statusCode: status, code, message: message ?? ERRORS[code].message });
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extra,
  };
  return { status, headers, body };
}

/** Written on the bare socket: no request object exists. */
function answer(socket: Duplex, code: ErrorCode, extra: Record<string, string> = {}, message?: string): void {
  const { status, headers, body } = errorAnswer(code, extra, message);
  const lines = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\n${lines}\r\n${body}`);
}

/** Written through the request's own response, which no handler has started. */
function answerResponse(response: ServerResponse, code: ErrorCode): void {
  const { status, headers, body } = errorAnswer(code);
  response.writeHead(status, headers).end(body);
}

/** A method nothing here serves, on a path: 405 with Allow where the path is known, 404 where it is not. */
function answerMethod(socket: Duplex, allowed: AllowedMethods, method: string, target: string): ErrorCode {
  const allow = target.startsWith('/') ? allowed(target.split('?')[0]) : undefined;
  if (!allow) {
    answer(socket, 'NOT_FOUND', {}, 'No such route');
    return 'NOT_FOUND';
  }
  answer(
    socket,
    'METHOD_NOT_ALLOWED',
    { Allow: allow.join(', ') },
    `${method} is not allowed here; use ${allow.join(', ')}`,
  );
  return 'METHOD_NOT_ALLOWED';
}

export function answerClientErrors(server: Server, log: Logger, allowed: AllowedMethods): void {
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    const response = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    // A body still arriving when the request's time is up: its handler is waiting for the rest, and
    // nothing has been written yet, so the answer is the 408 it would have had for slow headers.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && response && !response.headersSent && socket.writable) {
      log.info({ code: 'REQUEST_TIMEOUT' }, 'request refused: its body took too long to arrive');
      answerResponse(response, 'REQUEST_TIMEOUT');
      return;
    }
    // A peer that went away, or a response already under way: nothing sensible can be written.
    if (error.code === 'ECONNRESET' || !socket.writable || response) {
      socket.destroy();
      return;
    }
    const line =
      error.code === 'HPE_INVALID_METHOD' ? error.rawPacket?.toString('latin1').split('\n')[0] : undefined;
    const request = line === undefined ? null : REQUEST_LINE.exec(line);
    if (request) {
      const code = answerMethod(socket, allowed, request[1], request[2]);
      log.info({ code, method: request[1] }, 'request refused: unknown method');
      return;
    }
    const code = BY_PARSER_CODE[error.code ?? ''] ?? 'MALFORMED_REQUEST';
    log.info({ code, parserCode: error.code }, 'request refused by the HTTP parser');
    answer(socket, code);
  });

  // No proxying here: CONNECT is a method like any other that no path accepts.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    const code = answerMethod(socket, allowed, 'CONNECT', req.url ?? '');
    log.info({ code, method: 'CONNECT' }, 'request refused: CONNECT');
  });
}
