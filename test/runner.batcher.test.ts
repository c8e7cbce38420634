import { expect } from 'chai';
import { Batcher } from '../src/runner/batcher.js';

describe('Batcher', () => {
  it('writes what queued meanwhile in one batch, results in order', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const firstWriteHeld = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number, string>(async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await firstWriteHeld; // hold the first write while more queue up
      return items.map((n) => `#${n}`);
    }, 3);
    const results = [1, 2, 3, 4, 5, 6].map((n) => batcher.add(n));
    release();
    expect(await Promise.all(results)).to.deep.equal(['#1', '#2', '#3', '#4', '#5', '#6']);
    expect(batches).to.deep.equal([[1], [2, 3, 4], [5, 6]]);
  });

  it('rejects every item of a batch whose write fails, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new Batcher<number, number>((items) => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('database away')) : Promise.resolve(items.map((n) => n * 2));
    }, 10);
    const first = batcher.add(1);
    const second = batcher.add(2);
    const outcomes = await Promise.allSettled([first, second]);
    expect(outcomes[0]).to.deep.include({ status: 'rejected' });
    expect(outcomes[1]).to.deep.equal({ status: 'fulfilled', value: 4 });
  });
});
