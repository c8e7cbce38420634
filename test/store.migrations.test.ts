import { expect } from 'chai';
import { DatabaseUnavailableError, ErrorCode, InvalidArgumentError, Runner, SchemaTooNewError } from '../src/index.js';
import { MIGRATIONS, migrate, migrationStatus } from '../src/store/migrate.js';
import { backends, dropSchema, freshSchema } from './db.js';
import { rejection } from './helpers.js';

for (const backend of await backends()) {
  describe(`migrations (${backend.name})`, () => {
    let schema = '';

    afterEach(async function () {
      await dropSchema(backend.knex(), schema, this.currentTest?.state === 'passed');
    });

    it('applies every migration, and migrating twice does no harm', async () => {
      schema = freshSchema('mig');
      await migrate(backend.knex(), schema);
      await migrate(backend.knex(), schema);
      const status = await migrationStatus(backend.knex(), schema);
      expect(status).to.deep.equal({ applied: MIGRATIONS.map((m) => m.name), pending: [] });
      const tables = await backend
        .knex()
        .select('table_name')
        .from('information_schema.tables')
        .where({ table_schema: schema })
        .orderBy('table_name');
      expect(tables.map((t: { table_name: string }) => t.table_name)).to.include.members([
        'execution_events',
        'task_executions',
        'workflow_executions',
      ]);
    });

    it('refuses a schema migrated by a newer version, with a typed error', async () => {
      schema = freshSchema('mig');
      await migrate(backend.knex(), schema);
      await backend.knex().withSchema(schema).table('slotwise_migrations').insert({
        name: '999_from_the_future',
        batch: 2,
        migration_time: new Date(),
      });
      const error = await rejection(migrate(backend.knex(), schema), SchemaTooNewError, ErrorCode.SchemaTooNew);
      expect(error.unknownMigrations).to.deep.equal(['999_from_the_future']);
    });

    if (backend.name === 'postgres') {
      it('two processes migrating one schema at once both succeed', async () => {
        schema = freshSchema('mig');
        const knex = backend.knex();
        await Promise.all([migrate(knex, schema), migrate(knex, schema), migrate(knex, schema)]);
        expect((await migrationStatus(knex, schema)).pending).to.deep.equal([]);
      });
    }
  });
}

describe('runner database options', () => {
  it('rejects a schema name that is not a plain identifier', () => {
    for (const schema of ['Upper', 'has space', 'semi;colon', '', 'x'.repeat(64)]) {
      expect(() => new Runner({ schema })).to.throw(InvalidArgumentError, '`schema`');
    }
  });

  it('rejects a database option of the wrong kind, hiding a password', () => {
    expect(() => new Runner({ database: 'mysql://user:secret@host/db' }))
      .to.throw(InvalidArgumentError)
      .with.property('message')
      .that.does.not.contain('secret');
  });

  it('fails with DatabaseUnavailableError, password hidden, when the database refuses the connection', async () => {
    const runner = new Runner({
      database: 'postgres://postgres:hunter2@127.0.0.1:1/nowhere',
      writeDeadlineMs: 200,
      threads: 1,
    });
    try {
      const error = await rejection(runner.ready(), DatabaseUnavailableError, ErrorCode.DatabaseUnavailable);
      expect(error.message).to.not.contain('hunter2');
      expect(error.operation).to.contain('migrating');
    } finally {
      await runner.close();
    }
  });
});
