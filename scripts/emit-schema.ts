// Writes schema.graphql from the code-first schema (npm run schema). A test fails when the file is stale.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAppSchema, printAppSchema } from '../src/schema';

buildAppSchema().then((schema) => {
  const file = path.resolve(__dirname, '../../schema.graphql');
  writeFileSync(file, printAppSchema(schema));
  process.stdout.write(`wrote ${file}\n`);
});
