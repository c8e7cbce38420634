// The bad-input catalogue: docs/reference/errors.md lists every typed error (code, class, when it
// is raised, what to do), and every code is provoked by a test that asserts it. The first part
// reads the sources: the codes (ErrorCode, WorkflowErrorCode), the class raising each one
// (src/errors.ts, src/workflow/errors.ts), the doc's table, and the tests under test/, where a
// code counts as provoked when its constant (`ErrorCode.X`, `WorkflowErrorCode.X`, the code's
// string) or its class is an argument of an assertion (`caught`, `rejection`, `expect`, chai's
// `throw`, `instanceOf`, `equal`, `include`, ...), or of a table a `for` loop asserts on. The
// second part provokes the codes no other test did.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { expect } from 'chai';
import * as api from '../src/index.js';
import {
  type ClaimLostEvent,
  ClaimLostError,
  ErrorCode,
  Runner,
  SlotwiseError,
  TaskAbortedError,
  WorkflowErrorCode,
} from '../src/index.js';
import { TEST_DATABASE_URL, backends, dropSchema, freshSchema } from './db.js';
import { until } from './helpers.js';
import { abortReasonWorkflow } from './fixtures/kill-seeds-tasks.js';

const root = new URL('../../', import.meta.url); // dist/test/ → the project
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const postgres = (await backends()).find((b) => b.name === 'postgres');

interface Entry {
  /** The code's string, e.g. `SLOTWISE_WORKFLOW_CYCLE`. */
  readonly code: string;
  /** The class whose constructor passes that code to `super`. */
  readonly className: string;
  /** What a test may name it by: `ErrorCode.X`, `WorkflowErrorCode.Y`, the quoted code, the class. */
  readonly references: readonly string[];
}

/** Every code, with its class (read from the sources: `super(ErrorCode.X, ...)` in a class body). */
function catalogue(): Entry[] {
  const classOf = new Map<string, string>();
  for (const [file, constants] of [
    ['src/errors.ts', ErrorCode],
    ['src/package/errors.ts', ErrorCode],
    ['src/workflow/errors.ts', WorkflowErrorCode],
  ] as const) {
    for (const match of read(file).matchAll(/^export (?:abstract )?class (\w+) extends \w+ \{\n([\s\S]*?)^\}/gm)) {
      const [, className = '', body = ''] = match;
      for (const [, key = ''] of body.matchAll(/\b(?:Workflow)?ErrorCode\.(\w+)\b/g)) {
        const code = (constants as Record<string, string>)[key];
        expect(code, `${file}: ${className} uses an unknown constant ${key}`).to.be.a('string');
        expect(classOf.get(code ?? ''), `two classes raise ${String(code)}`).to.be.oneOf([undefined, className]);
        classOf.set(code ?? '', className);
      }
    }
  }
  return Object.values(ErrorCode).map((code) => {
    const className = classOf.get(code);
    expect(className, `no class raises ${code}`).to.be.a('string');
    const constants = [
      ...Object.entries(ErrorCode)
        .filter(([, value]) => value === code)
        .map(([key]) => `ErrorCode.${key}`),
      ...Object.entries(WorkflowErrorCode)
        .filter(([, value]) => value === code)
        .map(([key]) => `WorkflowErrorCode.${key}`),
    ];
    return { code, className: className ?? '', references: [...constants, `'${code}'`, className ?? ''] };
  });
}

interface Row {
  readonly code: string;
  readonly className: string;
  readonly raisedWhen: string;
  readonly whatToDo: string;
}

/** The rows of the table of thrown errors in docs/reference/errors.md (before its stored codes). */
function documented(): Row[] {
  return (read('docs/reference/errors.md').split('\n## Codes stored in results')[0] ?? '')
    .split('\n')
    .filter((line) => /^\|\s*`SLOTWISE_/.test(line))
    .map((line) => {
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      expect(cells, `a table row of four cells: ${line}`).to.have.lengthOf(4);
      const [code = '', className = '', raisedWhen = '', whatToDo = ''] = cells;
      return { code: code.replace(/`/g, ''), className: className.replace(/`/g, ''), raisedWhen, whatToDo };
    });
}

/**
 * The source with comments and the insides of string literals blanked (same length, so
 * positions hold): identifiers in prose do not count, and brackets in strings do not mislead.
 * Template literals keep their `${...}` expressions.
 */
function codeOnly(source: string): string {
  const out = source.split('');
  const blank = (i: number): void => {
    if (out[i] !== '\n') out[i] = ' ';
  };
  const braces: number[] = []; // per open `${`: the brace depth inside it
  let i = 0;
  const template = (): void => {
    // i is just past a backtick or a `}` closing an interpolation
    while (i < source.length) {
      if (source[i] === '\\') {
        blank(i);
        blank(i + 1);
        i += 2;
      } else if (source[i] === '`') {
        i += 1;
        return;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        braces.push(0);
        i += 2;
        return;
      } else {
        blank(i);
        i += 1;
      }
    }
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') blank(i++);
    } else if (c === '/' && source[i + 1] === '*') {
      while (i < source.length && !(source[i] === '*' && source[i + 1] === '/')) blank(i++);
      blank(i++);
      blank(i++);
    } else if (c === "'" || c === '"') {
      i += 1;
      while (i < source.length && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\') blank(i++);
        blank(i++);
      }
      i += 1;
    } else if (c === '`') {
      i += 1;
      template();
    } else if (c === '{' && braces.length > 0) {
      braces[braces.length - 1] = (braces.at(-1) ?? 0) + 1;
      i += 1;
    } else if (c === '}' && braces.length > 0 && braces.at(-1) === 0) {
      braces.pop();
      i += 1;
      template();
    } else {
      if (c === '}' && braces.length > 0) braces[braces.length - 1] = (braces.at(-1) ?? 1) - 1;
      i += 1;
    }
  }
  return out.join('');
}

const ASSERTIONS = new Set([
  'caught',
  'rejection',
  'expect',
  'throw',
  'throws',
  'instanceOf',
  'instanceof',
  'equal',
  'equals',
  'eql',
  'include',
  'includes',
  'members',
  'oneOf',
  'property',
  'rejectedWith',
  'fail',
]);

/**
 * Whether the text at `at` sits in an assertion: walking out through up to three enclosing
 * calls (brackets and braces are passed through), one is an assertion, or a `for (... of [...])`
 * header whose loop body asserts.
 */
function inAssertion(code: string, at: number): boolean {
  let depth = 0;
  let calls = 0;
  let blocks = 0; // braces walked out of: a `for` counts only when `at` is in its header
  for (let i = at - 1; i >= 0 && calls < 3; i--) {
    const c = code[i];
    if (c === ')' || c === ']' || c === '}') depth += 1;
    else if ((c === '[' || c === '{') && depth > 0) depth -= 1;
    else if (c === '{') blocks += 1;
    else if (c === '(' && depth > 0) depth -= 1;
    else if (c === '(') {
      calls += 1;
      const name = /([A-Za-z_$][\w$]*)\s*(?:<[^()]*>)?\s*$/.exec(code.slice(Math.max(0, i - 80), i))?.[1] ?? '';
      if (ASSERTIONS.has(name)) return true;
      if (name === 'for' && blocks === 0) {
        const body = code.slice(at, at + 2_000);
        return /\b(?:expect|caught|rejection)\s*\(/.test(body);
      }
    }
  }
  return false;
}

/** The test files (sources) that assert `entry`, by one of its references. */
function provokers(entry: Entry, files: ReadonlyMap<string, { source: string; code: string }>): string[] {
  const found: string[] = [];
  for (const [file, { source, code }] of files) {
    const hit = entry.references.some((reference) => {
      const quoted = reference.startsWith("'");
      const text = quoted ? source : code;
      const pattern = quoted
        ? new RegExp(`'${reference.slice(1, -1)}'`, 'g')
        : new RegExp(`(?<![\\w$.])${reference.replace('.', '\\.')}(?![\\w$])`, 'g');
      for (const match of text.matchAll(pattern)) {
        // A quoted code counts only as a string literal of the code (not inside a comment).
        if (quoted && code[match.index] !== "'") continue;
        if (inAssertion(code, match.index)) return true;
      }
      return false;
    });
    if (hit) found.push(file);
  }
  return found;
}

function testSources(): Map<string, { source: string; code: string }> {
  const files = new Map<string, { source: string; code: string }>();
  for (const name of readdirSync(new URL('test/', root)).sort()) {
    // helpers.ts and db.ts assert nothing about codes; this file's checks name none.
    if (!name.endsWith('.test.ts')) continue;
    const source = read(`test/${name}`);
    files.set(name, { source, code: codeOnly(source) });
  }
  return files;
}

describe('the error catalogue (docs/reference/errors.md)', () => {
  const entries = catalogue();

  it('every code is a SlotwiseError class of the public API; workflow codes are codes', () => {
    expect(Object.values(WorkflowErrorCode).filter((code) => !Object.values(ErrorCode).includes(code))).to.deep.equal(
      [],
    );
    for (const { code, className } of entries) {
      const type = (api as Record<string, unknown>)[className];
      expect(type, `${className} (${code}) is exported by the package`).to.be.a('function');
      expect((type as { prototype: unknown }).prototype, className).to.be.an.instanceOf(SlotwiseError);
    }
  });

  it('the table lists every code with its class, when it is raised and what to do, and nothing else', () => {
    const rows = documented();
    const byCode = new Map(rows.map((row) => [row.code, row]));
    expect(
      rows.map((r) => r.code).filter((code, i, all) => all.indexOf(code) !== i),
      'duplicate rows',
    ).to.deep.equal([]);
    expect(
      rows.map((r) => r.code).filter((code) => !entries.some((e) => e.code === code)),
      'rows of codes that do not exist',
    ).to.deep.equal([]);
    for (const { code, className } of entries) {
      const row = byCode.get(code);
      expect(row, `a row for ${code}`).to.not.equal(undefined);
      expect(row?.className, `the class of ${code}`).to.equal(className);
      expect(row?.raisedWhen, `when ${code} is raised`).to.have.length.above(10);
      expect(row?.whatToDo, `what to do about ${code}`).to.have.length.above(5);
    }
  });

  it('every code is provoked by a test that asserts it', () => {
    const files = testSources();
    const unprovoked = entries.filter((entry) => provokers(entry, files).length === 0).map((e) => e.code);
    expect(unprovoked, 'codes no test asserts').to.deep.equal([]);
  });

  it('the provocation scan itself: finds an asserted code, not one in a title, an import or a comment', () => {
    const sample = [
      "import { TaskTimeoutError } from '../src/index.js';",
      "it('raises TaskTimeoutError', () => undefined); // TaskTimeoutError",
      'await rejection(run, TaskTimeoutError, ErrorCode.TaskTimeout);',
      "new ExecutorClosedError('x');",
      "for (const [mode, code] of [['a', ErrorCode.DeferAborted]] as const) { it(mode, () => expect(code).to.equal('x')); }",
      "expect(error.cause).to.deep.include({ code: 'SLOTWISE_NO_HANDLE' });",
    ].join('\n');
    const files = new Map([['sample.test.ts', { source: sample, code: codeOnly(sample) }]]);
    const provoked = entries.filter((entry) => provokers(entry, files).length > 0).map((e) => e.className);
    expect(provoked).to.have.members(['TaskTimeoutError', 'DeferAbortedError', 'NoHandleError']);
  });
});

// Codes no other test provoked. ClaimLostError: the runner aborts the run with it and reports it
// in its `claimLost` event; inside the task, `handle.signal` aborts with a TaskAbortedError (a
// worker thread learns that its run was cancelled, not why).
if (postgres !== undefined) {
  describe('provoking the errors no other test asserts (postgres)', () => {
    it('ClaimLostError: in the claimLost event when a runner lost a claim, whose task sees its signal abort', async () => {
      const knex = postgres.knex();
      const schema = freshSchema('lostclaim');
      const dir = mkdtempSync(joinPath(tmpdir(), 'slotwise-'));
      const reasonFile = joinPath(dir, 'reason');
      const runner = new Runner({
        database: TEST_DATABASE_URL,
        schema,
        threads: 1,
        maxConcurrentTasks: 1,
        heartbeatIntervalMs: 100,
        workflows: [abortReasonWorkflow],
      });
      let passed = false;
      try {
        const deferred = new Promise<string>((resolve) =>
          runner.on('taskSubStatus', (e) => {
            if (e.subStatus === 'Deferred') resolve(e.taskExecutionId);
          }),
        );
        const lost = new Promise<ClaimLostEvent>((resolve) => runner.once('claimLost', resolve));
        await runner.start(abortReasonWorkflow, { reasonFile });
        const taskExecutionId = await deferred;
        // Another (live) runner takes the claim: the fencing token moves on under the running task.
        await knex
          .withSchema(schema)
          .table('runners')
          .insert({ id: 'thief', host: 'test', pid: 0, lease_expires_at: knex.raw(`now() + interval '1 hour'`) });
        await knex.raw(
          `UPDATE ??.task_executions SET claim_token = claim_token + 1, claimed_by = 'thief' WHERE id = ?`,
          [schema, taskExecutionId],
        );
        const event = await lost;
        expect(event.taskExecutionId).to.equal(taskExecutionId);
        expect(event.error).to.be.instanceOf(ClaimLostError);
        expect(event.error).to.include({ code: ErrorCode.ClaimLost, taskExecutionId });
        // The task writes its signal's reason from its worker thread once the abort reaches it.
        await until(() => existsSync(reasonFile));
        const reason = JSON.parse(readFileSync(reasonFile, 'utf8')) as { name?: string; code?: string };
        expect(reason).to.deep.include({ name: TaskAbortedError.name, code: ErrorCode.TaskAborted });
        passed = true;
      } finally {
        await runner.close({ timeoutMs: 1_000 });
        rmSync(dir, { recursive: true, force: true });
        await dropSchema(knex, schema, passed);
      }
    });
  });
}
