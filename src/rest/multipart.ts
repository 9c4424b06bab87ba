// Streams a multipart/form-data create body: text fields collected, the one `evidence` file handed on as it arrives.
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import type { ReceiveCreate } from '../services/process-request.service';
import { DomainError } from '../domain/errors';
import { createFields, parseInput, type CreateFields } from '../shapes/inputs';
import type { IncomingEvidence } from '../services/evidence.service';

/** The text fields of a create: exactly those its declaration has (src/shapes/inputs.ts), nothing kept by hand. */
export const TEXT_FIELDS: ReadonlySet<string> = new Set(Object.keys(createFields.shape));
const EVIDENCE = 'evidence';
const LIMITS = { fields: 20, fieldSize: 16 * 1024, files: 2, parts: 24, headerPairs: 50, fieldNameSize: 100 };

/** A ReceiveCreate that reads the request body; the service decides what the fields and file are worth. */
export function receiveMultipart(req: IncomingMessage): ReceiveCreate {
  return (stage) =>
    new Promise<CreateFields>((resolve, reject) => {
      let parser: busboy.Busboy | undefined;
      // busboy also reads urlencoded forms; a create is multipart/form-data only.
      if (/^multipart\/form-data\s*;/i.test(req.headers['content-type'] ?? '')) {
        try {
          parser = busboy({
            headers: req.headers,
            limits: LIMITS,
            preservePath: true,
            defParamCharset: 'utf8',
          });
        } catch {
          // no usable boundary: refused below like any other content type
        }
      }
      if (!parser) {
        reject(
          new DomainError('UNSUPPORTED_MEDIA_TYPE', 'The body must be multipart/form-data with a boundary'),
        );
        return;
      }
      const fields: Record<string, string> = {};
      let staging: Promise<void> | undefined;
      let failed = false;

      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        req.unpipe(parser);
        parser.removeAllListeners('file');
        // Let the client finish sending so it can read our answer; the bytes go nowhere.
        req.resume();
        // The staging (if any) settles on its own once its stream is destroyed; report the first error.
        if (staging) staging.catch(() => {}).finally(() => reject(error));
        else reject(error);
      };

      parser.on('field', (name, value, info) => {
        if (info.nameTruncated || info.valueTruncated) {
          fail(new DomainError('VALIDATION_FAILED', `Field ${name} is too long`, { field: name }));
        } else if (Object.prototype.hasOwnProperty.call(fields, name)) {
          fail(
            new DomainError('VALIDATION_FAILED', `Field ${name} was sent more than once`, { field: name }),
          );
        } else if (TEXT_FIELDS.has(name)) {
          fields[name] = value;
        } else if (name === EVIDENCE) {
          fail(new DomainError('EVIDENCE_REQUIRED', 'evidence must be a file part, not a text field'));
        } else {
          // Refused rather than dropped: a misspelt field would otherwise be lost without a word.
          fail(
            new DomainError(
              'VALIDATION_FAILED',
              `Field ${name} is not a field of a create (${[...TEXT_FIELDS].join(', ')} and the ${EVIDENCE} file)`,
              { field: name },
            ),
          );
        }
      });

      parser.on('file', (name, stream, info) => {
        if (name !== EVIDENCE || staging) {
          stream.resume();
          fail(
            new DomainError(
              'UNEXPECTED_FILE',
              `Unexpected file part "${name}": only one file named "evidence" is accepted`,
            ),
          );
          return;
        }
        const incoming: IncomingEvidence = { stream, fileName: info.filename };
        staging = stage(incoming);
        // A broken file stream means a broken body; storage errors keep their own meaning (503).
        staging.catch((e: unknown) =>
          fail(
            e instanceof DomainError || (e as Error)?.name === 'RestError'
              ? e
              : new DomainError('MALFORMED_MULTIPART'),
          ),
        );
      });

      for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
        parser.on(limit, () =>
          fail(new DomainError('VALIDATION_FAILED', `Too many parts in the form (${limit})`)),
        );
      }
      parser.on('error', () => fail(new DomainError('MALFORMED_MULTIPART')));
      req.on('aborted', () => fail(new DomainError('MALFORMED_MULTIPART', 'The client aborted the upload')));
      parser.on('close', () => {
        if (failed) return;
        (staging ?? Promise.resolve()).then(() => {
          if (failed) return;
          try {
            resolve(parseInput(createFields, fields));
          } catch (error) {
            reject(error);
          }
        }, fail);
      });
      req.pipe(parser);
    });
}
