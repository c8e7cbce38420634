// The workflow context: how the input and dependency outputs merge (last declared dependency
// wins), and what assertStorable refuses, with the path of the offending part.
import { expect } from 'chai';
import { ErrorCode, InvalidArgumentError, SlotwiseError } from '../src/index.js';
import { assertStorable, mergeContext } from '../src/workflow/context.js';
import { ContextNotStorableError, WorkflowErrorCode } from '../src/workflow/errors.js';
import { caught } from './helpers.js';

function refused(value: unknown, path: string, reason: string | RegExp): ContextNotStorableError {
  const error = caught(
    () => assertStorable(value, 'output'),
    ContextNotStorableError,
    WorkflowErrorCode.ContextNotStorable,
  );
  expect(error.path).to.equal(path);
  if (typeof reason === 'string') expect(error.reason).to.equal(reason);
  else expect(error.reason).to.match(reason);
  expect(error.message).to.equal(`The workflow context cannot be stored as JSON: \`${path}\` ${error.reason}`);
  return error;
}

describe('mergeContext', () => {
  it('starts from the input, or from {} without one', () => {
    expect(mergeContext(undefined, [])).to.deep.equal({});
    const input = { user: 'ada', limit: 3 };
    const context = mergeContext(input, []);
    expect(context).to.deep.equal(input);
    expect(context).to.not.equal(input);
  });

  it('merges object outputs key by key: the last declared dependency wins, over the input too', () => {
    const input = { status: 'input', only: 'input' };
    const context = mergeContext(input, [
      { taskId: 'first', output: { status: 'first', a: 1 } },
      { taskId: 'second', output: { status: 'second', b: 2 } },
    ]);
    expect(context).to.deep.equal({ status: 'second', only: 'input', a: 1, b: 2 });
    expect(input).to.deep.equal({ status: 'input', only: 'input' });

    const reversed = mergeContext(input, [
      { taskId: 'second', output: { status: 'second' } },
      { taskId: 'first', output: { status: 'first' } },
    ]);
    expect(reversed.status).to.equal('first');
  });

  it('stores any other JSON value under the producing task id; undefined adds nothing', () => {
    const context = mergeContext({ keep: true }, [
      { taskId: 'count', output: 3 },
      { taskId: 'name', output: 'ada' },
      { taskId: 'list', output: [1, { x: 2 }] },
      { taskId: 'flag', output: false },
      { taskId: 'nothing', output: null },
      { taskId: 'void', output: undefined },
    ]);
    expect(context).to.deep.equal({
      keep: true,
      count: 3,
      name: 'ada',
      list: [1, { x: 2 }],
      flag: false,
      nothing: null,
    });
    expect(context).to.not.have.property('void');
  });

  it('overwrites a key set by an object output with a value stored under a task id, in order', () => {
    const context = mergeContext({}, [
      { taskId: 'b', output: { count: 1 } },
      { taskId: 'count', output: 2 },
    ]);
    expect(context).to.deep.equal({ count: 2 });
  });

  it('leaves out keys whose value is undefined, as JSON would', () => {
    expect(mergeContext({ a: undefined, b: 1 }, [{ taskId: 't', output: { b: undefined, c: 2 } }])).to.deep.equal({
      b: 1,
      c: 2,
    });
  });

  it('keeps a `__proto__` key as a key, without touching the prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const context = mergeContext(input, []);
    expect(Object.getPrototypeOf(context)).to.equal(Object.prototype);
    expect(Object.keys(context)).to.deep.equal(['__proto__']);
    expect((context as { polluted?: unknown }).polluted).to.equal(undefined);
  });

  it('refuses an input that is not a JSON object', () => {
    for (const input of [null, [], 'text', 5, new Date(0)]) {
      const error = caught(() => mergeContext(input, []), InvalidArgumentError, ErrorCode.InvalidArgument);
      expect(error.argument).to.equal('input');
      expect(error.message).to.match(/^Expected `input` to be a JSON object \(or undefined\), got /);
    }
  });
});

describe('assertStorable', () => {
  it('accepts JSON values, shared references, undefined at the top or as an object value', () => {
    const shared = { n: 1 };
    const nullPrototype = Object.assign(Object.create(null) as object, { a: 1 });
    const values: unknown[] = [
      undefined,
      null,
      0,
      -1.5,
      'text',
      true,
      [],
      {},
      { nested: { list: [1, 'two', null, { three: [false] }] } },
      { a: shared, b: [shared, shared] },
      { gone: undefined },
      nullPrototype,
    ];
    for (const value of values) expect(() => assertStorable(value, 'output')).to.not.throw();
  });

  it('refuses functions, symbols and bigints, naming the path', () => {
    function render(): void {}
    refused({ report: { render } }, 'output.report.render', 'is a function (render)');
    refused([() => 1], 'output[0]', 'is a function (anonymous)');
    refused({ s: Symbol('tag') }, 'output.s', 'is a symbol (Symbol(tag))');
    refused({ big: 10n }, 'output.big', 'is a bigint (10n): JSON has no bigint, store it as a string');
    refused({ [Symbol('k')]: 1 }, 'output', 'has a symbol key (Symbol(k)), which JSON would drop');
  });

  it('refuses undefined and holes inside arrays, NaN and infinities', () => {
    refused({ list: [1, undefined] }, 'output.list[1]', 'is undefined inside an array (JSON would turn it into null)');
    // eslint-disable-next-line no-sparse-arrays
    refused({ list: [1, , 3] }, 'output.list[1]', 'is a hole in a sparse array (JSON would turn it into null)');
    refused({ ratio: NaN }, 'output.ratio', 'is NaN (JSON would turn it into null)');
    refused([Infinity], 'output[0]', 'is Infinity (JSON would turn it into null)');
    refused({ low: -Infinity }, 'output.low', 'is -Infinity (JSON would turn it into null)');
  });

  it('refuses Date, Map, Set and class instances, saying why', () => {
    refused(
      { report: { created: new Date(0) } },
      'output.report.created',
      'is a Date (JSON would turn it into a string): store `date.toISOString()` instead',
    );
    refused(
      { m: new Map() },
      'output.m',
      'is a Map (JSON would turn it into {}): store a plain object or an array of entries instead',
    );
    refused({ s: new Set([1]) }, 'output.s', 'is a Set (JSON would turn it into {}): store an array instead');
    class Point {
      constructor(readonly x: number) {}
    }
    refused(
      { at: new Point(1) },
      'output.at',
      'is an instance of Point: only plain objects, arrays and primitives can be stored',
    );
    refused(new Uint8Array(2), 'output', /^is an instance of Uint8Array/);
    refused({ e: new Error('x') }, 'output.e', /^is an instance of Error/);
  });

  it('refuses cycles, naming where they close', () => {
    const node: { name: string; next?: unknown } = { name: 'a' };
    node.next = { list: [node] };
    refused({ node }, 'output.node.next.list[0]', 'refers back to `output.node`: a cycle, which JSON cannot store');
    const self: unknown[] = [];
    self.push(self);
    refused(self, 'output[0]', 'refers back to `output`: a cycle, which JSON cannot store');
  });

  it('refuses the character U+0000, in a value or a key: PostgreSQL jsonb cannot store it', () => {
    refused({ text: 'a\u0000b' }, 'output.text', 'contains the character U+0000, which PostgreSQL jsonb cannot store');
    refused({ ['k\u0000']: 1 }, 'output["k\\u0000"]', /^is a key with the character U\+0000/);
  });

  it('quotes keys that are not identifiers, and defaults the root to `value`', () => {
    refused({ 'a b': { '0': NaN } }, 'output["a b"]["0"]', 'is NaN (JSON would turn it into null)');
    const error = caught(
      () => assertStorable({ f: () => 1 }),
      ContextNotStorableError,
      WorkflowErrorCode.ContextNotStorable,
    );
    expect(error.path).to.equal('value.f');
    expect(error).to.be.instanceOf(SlotwiseError);
    expect(error.name).to.equal('ContextNotStorableError');
  });
});
