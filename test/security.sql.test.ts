// Security basics. SQL: every statement the library sends is a constant text with knex bindings
// (`?` for values, `??` for identifiers: the validated schema); the few places that build SQL
// text from something else are listed below, each with why it is safe, and anything new fails
// this test until it is reviewed and listed. Secrets: a connection string's password never
// appears in an error, an event, a log line or the migrate CLI's output.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { DatabaseUnavailableError, ErrorCode, InvalidArgumentError, Runner, SlotwiseError } from '../src/index.js';
import { redact, validateSchema } from '../src/store/database.js';
import { signalChannel } from '../src/store/signals.js';
import { readyChannel } from '../src/store/store.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { killSeedsDiamond } from './fixtures/kill-seeds-tasks.js';
import { caught, rejection } from './helpers.js';

const root = new URL('../../', import.meta.url); // dist/test/ → the project
const migrateCli = fileURLToPath(new URL('../src/store/migrate-cli.js', import.meta.url));
const indexJs = new URL('../src/index.js', import.meta.url).href;
const postgres = (await backends()).find((b) => b.name === 'postgres');

/** Where SQL text is built from more than constants, and why each is safe. `file: expression`. */
const ALLOWED_INTERPOLATIONS = new Map([
  [
    "src/store/leases.ts: orphansSql('1')",
    'a named SQL fragment (see orphansSql below) given a constant column list; its own identifiers are ?? bindings',
  ],
  [
    'src/store/leases.ts: orphansSql(ORPHAN_COLUMNS)',
    'the same fragment given ORPHAN_COLUMNS, a constant column list defined in that file',
  ],
  [
    'src/store/leases.ts: columns',
    'orphansSql itself: `columns` is only ever one of the two constants above (checked below)',
  ],
  [
    'src/store/fair-tags.ts: virtualTimeSql(schema)',
    'a named SQL fragment (see virtualTimeSql below) given the validated schema',
  ],
  [
    'src/store/fair-tags.ts: schema',
    'virtualTimeSql itself: a schema that validateSchema passed ([a-z0-9_], a plain identifier), double-quoted',
  ],
  ['src/store/store.ts: virtualTimeSql(s)', 'the same fragment, given the store’s validated schema'],
  ['src/store/store.ts: virtualTimeSql(this.schema)', 'the same fragment, given the store’s validated schema'],
  [
    'src/store/listener.ts: channel',
    'LISTEN takes no bind parameters; each channel is readyChannel or signalChannel of a validated schema: [a-z0-9_], <= 63 bytes (checked below)',
  ],
]);

/** Every .ts file under `dir` (relative to the project), by its relative path. */
function sources(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' }).sort()) {
    if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) {
      files.set(`${dir}${entry}`, readFileSync(new URL(`${dir}${entry}`, root), 'utf8'));
    }
  }
  return files;
}

interface Literal {
  /** Where it starts (its quote or backtick) and ends (just past its closing one). */
  readonly start: number;
  end: number;
  /** Its text, `${...}` expressions left out, and those expressions. */
  text: string;
  readonly expressions: string[];
}

/**
 * Reads the string and template literals of a source (templates nested in `${}` included), and
 * the source with comments and literal contents blanked: calls in it are code, not prose.
 */
function lex(source: string): { masked: string; literals: Literal[] } {
  const masked = source.split('');
  const literals: Literal[] = [];
  const open: { literal: Literal; depth: number; from: number }[] = []; // templates inside `${`
  const blank = (k: number): void => {
    if (masked[k] !== '\n') masked[k] = ' ';
  };
  let i = 0;
  const template = (literal: Literal): void => {
    while (i < source.length) {
      const c = source[i] ?? '';
      if (c === '\\') {
        literal.text += source.slice(i, i + 2);
        blank(i);
        blank(i + 1);
        i += 2;
      } else if (c === '`') {
        i += 1;
        literal.end = i;
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        i += 2;
        open.push({ literal, depth: 0, from: i });
        return;
      } else {
        literal.text += c;
        blank(i);
        i += 1;
      }
    }
  };
  while (i < source.length) {
    const c = source[i];
    const inner = open.at(-1);
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') blank(i++);
    } else if (c === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i);
      const stop = close === -1 ? source.length : close + 2;
      while (i < stop) blank(i++);
    } else if (c === "'" || c === '"') {
      const literal: Literal = { start: i, end: i, text: '', expressions: [] };
      i += 1;
      while (i < source.length && source[i] !== c) {
        const skip = source[i] === '\\' ? 2 : 1;
        literal.text += source.slice(i, i + skip);
        for (let k = 0; k < skip; k++) blank(i++);
      }
      i += 1;
      literal.end = i;
      literals.push(literal);
    } else if (c === '`') {
      const literal: Literal = { start: i, end: i, text: '', expressions: [] };
      literals.push(literal);
      i += 1;
      template(literal);
    } else if (c === '{' && inner !== undefined) {
      inner.depth += 1;
      i += 1;
    } else if (c === '}' && inner !== undefined && inner.depth === 0) {
      open.pop();
      inner.literal.expressions.push(source.slice(inner.from, i).trim());
      i += 1;
      template(inner.literal);
    } else {
      if (c === '}' && inner !== undefined) inner.depth -= 1;
      i += 1;
    }
  }
  expect(open, 'the lexer ended inside a template').to.deep.equal([]);
  return { masked: masked.join(''), literals };
}

interface SqlSite {
  readonly file: string;
  readonly line: number;
  /** The SQL text (interpolations left out), or null when the argument is no literal. */
  readonly text: string | null;
  /** Interpolated expressions, or the whole argument when it is no literal. */
  readonly expressions: string[];
}

const SQL_KEYWORDS = /\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|LISTEN|NOTIFY)\b/;

/**
 * The SQL of a file: the first argument of every `.raw(`, `.query(` and `.*Raw(` call (generic
 * arguments skipped), and every other template literal that reads as SQL and interpolates
 * something (a fragment built apart).
 */
function sqlSites(file: string, source: string): SqlSite[] {
  const { masked, literals } = lex(source);
  const lineOf = (at: number): number => source.slice(0, at).split('\n').length;
  const byStart = new Map(literals.map((l) => [l.start, l]));
  const sites: SqlSite[] = [];
  const arguments_ = new Set<Literal>();
  for (const match of masked.matchAll(/\.(?:raw|query|\w+Raw)\s*(?=[<(])/g)) {
    let i = match.index + match[0].length;
    if (masked[i] === '<') {
      let depth = 0;
      do {
        if (masked[i] === '<') depth += 1;
        else if (masked[i] === '>' && masked[i - 1] !== '=') depth -= 1;
        i += 1;
      } while (depth > 0 && i < masked.length);
    }
    while (/\s/.test(masked[i] ?? '')) i += 1;
    if (masked[i] !== '(') continue;
    i += 1;
    while (/\s/.test(masked[i] ?? '')) i += 1;
    const literal = byStart.get(i);
    if (literal !== undefined) {
      arguments_.add(literal);
      sites.push({ file, line: lineOf(i), text: literal.text, expressions: literal.expressions });
    } else {
      const argument = /^[^,)]*/.exec(source.slice(i))?.[0].trim() ?? '';
      sites.push({ file, line: lineOf(i), text: null, expressions: [argument] });
    }
  }
  for (const literal of literals) {
    if (arguments_.has(literal) || literal.expressions.length === 0 || !SQL_KEYWORDS.test(literal.text)) continue;
    sites.push({ file, line: lineOf(literal.start), text: literal.text, expressions: literal.expressions });
  }
  return sites;
}

const OUR_TABLES = /(?<![\w.])(?:(\?\?|\w+)\.)?(workflow_executions|task_executions|execution_events|runners)\b(?!_)/g;

describe('SQL is parameterised', () => {
  const files = new Map([...sources('src/'), ...sources('migrations/')]);
  const sites = [...files].flatMap(([file, source]) => sqlSites(file, source));

  it('finds the SQL it checks (the scan is not blind)', () => {
    const rawSites = sites.filter((s) => s.file === 'src/store/store.ts');
    expect(rawSites.length, 'statements in store.ts').to.be.above(15);
    expect(sites.filter((s) => s.file === 'src/store/leases.ts').length, 'statements in leases.ts').to.be.above(5);
    expect(sites.filter((s) => s.file.startsWith('migrations/')).length, 'statements in migrations').to.be.above(5);
  });

  it('the scan itself: catches interpolation, non-literal SQL and fixed schemas; passes bindings', () => {
    const sample = [
      "await knex.raw<{ rows: { id: string }[] }>('SELECT id FROM ??.runners WHERE id = ?', [schema, id]);",
      'await tx.raw(`DELETE FROM ??.task_executions WHERE id = ${id}`); // interpolated',
      'await knex.raw(statement, []);',
      "await db.whereRaw('x = ?', [1]).raw('SELECT 1 FROM slotwise.runners');",
      "const note = '.raw(`${not} code`)';",
    ].join('\n');
    const found = sqlSites('sample.ts', sample);
    expect(found.map((s) => [s.line, s.text === null ? null : s.text.trim(), s.expressions])).to.deep.equal([
      [1, 'SELECT id FROM ??.runners WHERE id = ?', []],
      [2, 'DELETE FROM ??.task_executions WHERE id =', ['id']],
      [3, null, ['statement']],
      [4, 'x = ?', []],
      [4, 'SELECT 1 FROM slotwise.runners', []],
    ]);
    const tables = [...(found[4]?.text ?? '').matchAll(OUR_TABLES)].map((m) => m[1]);
    expect(tables).to.deep.equal(['slotwise']);
  });

  it('SQL text interpolates nothing but the reviewed fragments, each listed with its reason', () => {
    const found = sites.flatMap((site) => site.expressions.map((e) => `${site.file}: ${e}`));
    const unexpected = found.filter((key) => !ALLOWED_INTERPOLATIONS.has(key));
    expect(unexpected, 'SQL built from something else than constant text and bindings').to.deep.equal([]);
    const stale = [...ALLOWED_INTERPOLATIONS.keys()].filter((key) => !found.includes(key));
    expect(stale, 'allowed interpolations that no longer exist (drop them from the list)').to.deep.equal([]);
    expect(
      sites.filter((s) => s.text === null).map((s) => `${s.file}:${String(s.line)}`),
      'statements whose text is no literal',
    ).to.deep.equal([]);
  });

  it('the orphansSql fragment is only ever given a constant column list', () => {
    const leases = files.get('src/store/leases.ts') ?? '';
    const calls = [...leases.matchAll(/\borphansSql\(([^)]*)\)/g)].map((m) => m[1]);
    expect(calls).to.have.members(['columns: string', "'1'", 'ORPHAN_COLUMNS']);
    expect(leases).to.match(/^const ORPHAN_COLUMNS = '[^'`$]*';$/m);
  });

  it('tables are named through ?? bindings (the schema), never by a fixed or interpolated schema', () => {
    const unqualified = sites.flatMap((site) =>
      [...(site.text ?? '').matchAll(OUR_TABLES)]
        .filter((m) => m[1] !== '??')
        .map((m) => `${site.file}:${String(site.line)}: ${m[0]}`),
    );
    expect(unqualified).to.deep.equal([]);
  });

  it('the schema behind every ?? is validated: a lower-case identifier, so also a safe LISTEN channel', () => {
    expect(files.get('src/runner/options.ts')).to.contain('schema: validateSchema(');
    expect(files.get('src/store/migrate-cli.ts')).to.contain('validateSchema(process.env.SLOTWISE_SCHEMA');
    const runner = files.get('src/runner/runner.ts') ?? '';
    expect(runner).to.contain('new Store(knex, this.options.schema');
    expect(runner).to.contain('new Leases(knex, this.options.schema,');
    for (const bad of ['Upper', 'a"b', 'x; DROP SCHEMA public', 'a.b', 'a-b', '1a', '', 'x'.repeat(64), 'é']) {
      caught(() => validateSchema(bad), InvalidArgumentError, ErrorCode.InvalidArgument);
    }
    for (const good of ['slotwise', '_x', 'a1_b2', 'x'.repeat(63), `t_${'y'.repeat(60)}`]) {
      expect(validateSchema(good)).to.equal(good);
      expect(readyChannel(good)).to.match(/^[a-z0-9_]{1,63}$/);
      expect(signalChannel(good)).to.match(/^[a-z0-9_]{1,63}$/);
    }
  });
});

describe('connection strings never show their password', () => {
  /** Every string an error can show: message, stack, fields and causes, deeply. */
  const shown = (value: unknown): string =>
    `${String(value)}\n${inspect(value, { depth: Infinity, showHidden: true })}`;

  // Each a connection string pg accepts with a password, and the parts of it that must not show.
  const cases: [string, string, string[]][] = [
    ['user and password', 'postgres://user:hunter2@db.example:5432/app', ['hunter2']],
    ['postgresql:// scheme', 'postgresql://user:hunter2@db.example/app', ['hunter2']],
    ['a password with / and :', 'postgres://user:hun/t:er2@db.example/app', ['hun/t', 't:er2']],
    ['an encoded @ in the password', 'postgres://user:hun%40ter2@db.example/app', ['hun%40ter2', 'ter2']],
    ['a raw @ in the password (pg takes the last @)', 'postgres://user:hun@ter2@db.example/app', ['hun', 'ter2']],
    ['no user name', 'postgres://:hunter2@db.example/app', ['hunter2']],
    ['the password as a query parameter', 'postgres://user@db.example/app?password=hunter2', ['hunter2']],
  ];
  for (const [what, url, secrets] of cases) {
    it(`redact() hides the password: ${what}`, () => {
      const redacted = redact(url);
      for (const secret of secrets) expect(redacted, `redact(${url})`).to.not.contain(secret);
      expect(redacted).to.contain('db.example'); // still says where
    });
  }

  it('a database option of the wrong kind is refused without its password', () => {
    const leaks: string[] = [];
    for (const [, url, secrets] of cases) {
      const wrong = url.replace(/^postgres(ql)?:/, 'mysql:');
      const error = caught(() => new Runner({ database: wrong }), InvalidArgumentError, ErrorCode.InvalidArgument);
      for (const secret of secrets) if (shown(error).includes(secret)) leaks.push(`${wrong} shows ${secret}`);
    }
    expect(leaks).to.deep.equal([]);
  });

  it('a runner whose database refuses the connection: its error and its output (a process of its own)', async () => {
    const script = `
      import { inspect } from 'node:util';
      const { Runner } = await import(${JSON.stringify(indexJs)});
      const runner = new Runner({ database: 'postgres://user:hunter2@127.0.0.1:1/db', writeDeadlineMs: 200, threads: 1 });
      try { await runner.ready(); console.log('ready?'); }
      catch (error) { console.log(error.name, error.code); console.log(inspect(error, { depth: Infinity, showHidden: true })); }
      finally { await runner.close(); }`;
    const { code, output } = await run(process.execPath, ['--input-type=module', '-e', script], {});
    expect(code, output).to.equal(0);
    expect(output).to.contain(`DatabaseUnavailableError ${ErrorCode.DatabaseUnavailable}`);
    expect(output).to.not.contain('hunter2');
  });

  it('the migrate CLI, when the database refuses the connection: exits non-zero, no password on stdout or stderr', async () => {
    const { code, output } = await run(process.execPath, [migrateCli], {
      DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:1/x',
      SLOTWISE_SCHEMA: 'never_created',
    });
    expect(code, output).to.not.equal(0);
    expect(output).to.contain('ECONNREFUSED');
    expect(output).to.not.contain('hunter2');
  });

  if (postgres !== undefined) {
    const { url: withSecret, secret } = withPassword(TEST_DATABASE_URL);

    it('the migrate CLI, on success, prints where it migrated without the password (given as ?password=)', async () => {
      const schema = freshSchema('seccli');
      const url = new URL(withSecret);
      url.password = '';
      url.searchParams.set('password', secret);
      try {
        const { code, output } = await run(process.execPath, [migrateCli], {
          DATABASE_URL: url.href,
          SLOTWISE_SCHEMA: schema,
        });
        expect(code, output).to.equal(0);
        expect(output).to.contain(`schema ${schema} at`);
        expect(output).to.not.contain(secret);
      } finally {
        await dropSchema(postgres.knex(), schema, true); // a plain migrated schema: nothing to inspect
      }
    });

    it('a runner whose database goes away: the writeFailed event’s error does not show the password', async () => {
      const schema = freshSchema('secwf');
      const proxy = await startProxy(new URL(TEST_DATABASE_URL));
      const url = new URL(withSecret);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const runner = new Runner({
        database: url.href,
        schema,
        threads: 1,
        workflows: [killSeedsDiamond], // so that it polls the database for work
        pollIntervalMs: 50,
        writeDeadlineMs: 300,
      });
      let passed = false;
      try {
        await runner.ready();
        const failed = new Promise<DatabaseUnavailableError>((resolve) => runner.once('writeFailed', resolve));
        await proxy.cut(); // the database is gone: every connection cut, new ones refused
        const error = await within(10_000, 'writeFailed', failed);
        expect(error).to.be.instanceOf(DatabaseUnavailableError);
        expect(shown(error)).to.not.contain(secret);
        passed = true;
      } finally {
        await runner.close({ timeoutMs: 1_000 });
        await dropSchema(postgres.knex(), schema, passed);
      }
    });

    it('a database that refuses the login (no such role) fails with a typed error, without the password', async () => {
      const url = new URL(withSecret);
      url.username = 'no_such_role_slotwise';
      const runner = new Runner({ database: url.href, writeDeadlineMs: 200, threads: 1, schema: 'never_created' });
      try {
        const error = await rejection(runner.ready(), SlotwiseError, ErrorCode.DatabaseUnavailable);
        expect(shown(error)).to.not.contain(secret);
      } finally {
        await runner.close();
      }
    });
  }
});

/** The test database's URL with a password: its own, or `hunter2` (which trust auth ignores). */
function withPassword(connection: string): { url: string; secret: string } {
  const url = new URL(connection);
  if (url.password === '') url.password = 'hunter2';
  return { url: url.href, secret: decodeURIComponent(url.password) };
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** A loopback TCP proxy to the database that can cut every connection and refuse new ones. */
async function startProxy(target: URL): Promise<{ port: number; cut: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${String(ms)} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
