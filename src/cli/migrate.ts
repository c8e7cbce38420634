// `slotwise migrate`: applies the migrations to a schema, or with --status lists applied and pending ones.
import { migrate, migrationStatus } from '../store/migrate.js';
import { type DatabaseFlags, openFromFlags } from './database.js';

export interface MigrateFlags extends DatabaseFlags {
  readonly status?: boolean;
}

export async function migrateCommand(flags: MigrateFlags): Promise<void> {
  const { database, schema, shown } = await openFromFlags(flags, 'migrate');
  try {
    if (flags.status !== true) await migrate(database.knex, schema);
    const { applied, pending } = await migrationStatus(database.knex, schema);
    console.log(`${shown}: schema ${schema}`);
    if (flags.status === true) {
      for (const name of applied) console.log(`  applied  ${name}`);
      for (const name of pending) console.log(`  pending  ${name}`);
    }
    console.log(`${String(applied.length)} applied, ${String(pending.length)} pending; at ${applied.at(-1) ?? 'none'}`);
  } finally {
    await database.close();
  }
}
