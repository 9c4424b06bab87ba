// A GraphQL Upload for in-process operations (Apollo executeOperation), as graphql-upload-minimal would
// place it in the variables after reading a multipart request.
import { Readable } from 'node:stream';
import { Upload } from 'graphql-upload-minimal';

export function upload(buffer: Buffer, filename = 'receipt.pdf', mimetype = 'application/pdf'): Upload {
  const value = new Upload() as Upload & { resolve(file: unknown): void };
  value.resolve({
    filename,
    mimetype,
    encoding: '7bit',
    fieldName: 'evidence',
    createReadStream: () => Readable.from([buffer]),
  });
  return value;
}
