import { expect } from 'chai';
import { ErrorCode, InvalidArgumentError, Semaphore } from '../src/index.js';
import { rejection } from './helpers.js';

describe('Semaphore and SlotToken', () => {
  it('rejects a permit count that is not a positive integer, naming it', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '2']) {
      expect(() => new Semaphore(bad as number))
        .to.throw(InvalidArgumentError)
        .with.property('code', ErrorCode.InvalidArgument);
    }
    expect(() => new Semaphore(0)).to.throw('Expected `permits` to be a positive integer, got `0` (number)');
  });

  it('release frees a permit, and a second release returns false', () => {
    const semaphore = new Semaphore(2);
    const token = semaphore.tryAcquire();
    expect(token?.isHeld()).to.equal(true);
    expect(semaphore.available).to.equal(1);
    expect(token?.release()).to.equal(true);
    expect(semaphore.available).to.equal(2);
    expect(token?.release()).to.equal(false);
    expect(semaphore.available).to.equal(2);
  });

  it('reclaim re-acquires, and reclaim while held is a no-op', async () => {
    const semaphore = new Semaphore(1);
    const token = await semaphore.acquire();
    await token.reclaim();
    expect(semaphore.available).to.equal(0);
    token.release();
    expect(semaphore.available).to.equal(1);
    await token.reclaim();
    expect(token.isHeld()).to.equal(true);
    expect(semaphore.available).to.equal(0);
  });

  it('dispose releases', () => {
    const semaphore = new Semaphore(1);
    {
      using token = semaphore.tryAcquire();
      expect(token?.isHeld()).to.equal(true);
      expect(semaphore.available).to.equal(0);
    }
    expect(semaphore.available).to.equal(1);
  });

  it('reclaim waits for a free slot', async () => {
    const semaphore = new Semaphore(1);
    const first = await semaphore.acquire();
    first.release();
    const second = await semaphore.acquire();
    let reclaimed = false;
    const reclaiming = first.reclaim().then(() => (reclaimed = true));
    await Promise.resolve();
    expect(reclaimed).to.equal(false);
    expect(semaphore.waiting).to.equal(1);
    second.release();
    await reclaiming;
    expect(first.isHeld()).to.equal(true);
    expect(semaphore.available).to.equal(0);
  });

  it('serves reclaiming tokens before new acquirers, each queue in FIFO order', async () => {
    const semaphore = new Semaphore(1);
    const parked = await semaphore.acquire();
    parked.release(); // a task that deferred
    const holder = await semaphore.acquire(); // new work took the slot meanwhile
    const order: string[] = [];
    const newcomers = [1, 2].map((n) => semaphore.acquire().then((t) => (order.push(`new${n}`), t.release())));
    const reclaim = parked.reclaim().then(() => (order.push('reclaim'), parked.release()));
    holder.release();
    await Promise.all([...newcomers, reclaim]);
    expect(order).to.deep.equal(['reclaim', 'new1', 'new2']);
    expect(semaphore.available).to.equal(1);
  });

  it('tryAcquire does not jump the queue', async () => {
    const semaphore = new Semaphore(1);
    const holder = semaphore.tryAcquire();
    const waiting = semaphore.acquire();
    holder?.release(); // handed straight to the waiter
    expect(semaphore.tryAcquire()).to.equal(null);
    (await waiting).release();
    expect(semaphore.available).to.equal(1);
  });

  it('an aborted acquire or reclaim leaves the queue and loses no permit', async () => {
    const semaphore = new Semaphore(1);
    const holder = await semaphore.acquire();
    const controller = new AbortController();
    const acquiring = semaphore.acquire({ signal: controller.signal });
    const other = semaphore.tryAcquire();
    expect(other).to.equal(null);
    controller.abort(new InvalidArgumentError('why', 'nothing', 1));
    await rejection(acquiring, InvalidArgumentError, ErrorCode.InvalidArgument);
    expect(semaphore.waiting).to.equal(0);

    holder.release();
    const parked = await semaphore.acquire();
    parked.release();
    const newHolder = await semaphore.acquire();
    const reclaimController = new AbortController();
    const reclaiming = parked.reclaim({ signal: reclaimController.signal });
    reclaimController.abort(new InvalidArgumentError('why', 'nothing', 2));
    await rejection(reclaiming, InvalidArgumentError, ErrorCode.InvalidArgument);
    expect(parked.isHeld()).to.equal(false);
    newHolder.release();
    expect(semaphore.available).to.equal(1);
  });

  it('keeps the permit count exact through many interleaved tokens', async () => {
    const semaphore = new Semaphore(3);
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const token = await semaphore.acquire();
        inside += 1;
        most = Math.max(most, inside);
        await Promise.resolve();
        if (i % 3 === 0) {
          inside -= 1;
          token.release();
          await token.reclaim();
          inside += 1;
          most = Math.max(most, inside);
        }
        inside -= 1;
        token[Symbol.dispose]();
      }),
    );
    expect(most).to.equal(3);
    expect(semaphore.available).to.equal(3);
    expect(semaphore.waiting).to.equal(0);
  });
});
