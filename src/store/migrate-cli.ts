// `npm run migrate`: applies slotwise's migrations to DATABASE_URL (or the embedded database,
// which is only useful as a check), in SLOTWISE_SCHEMA (default `slotwise`).
import { openDatabase, redact, validateSchema } from './database.js';
import { migrate, migrationStatus } from './migrate.js';

const url = process.env.DATABASE_URL;
const schema = validateSchema(process.env.SLOTWISE_SCHEMA ?? 'slotwise');
const database = openDatabase(url, 2, 'migrate-cli');
try {
  await migrate(database.knex, schema);
  const { applied } = await migrationStatus(database.knex, schema);
  console.log(
    `${url === undefined ? 'embedded database' : redact(url)}: schema ${schema} at ${applied.at(-1) ?? 'none'}`,
  );
} finally {
  await database.close();
}
