/**
 * The messages of a worker thread's control port: a `MessageChannel` of its own, beside
 * Piscina's task port, for what the slot handshake's integer words cannot carry (a signal's
 * name and payload). The worker opens it the first time a task on it waits and hands the far
 * end, with its ask ring (`slots/ask-ring.ts`), to the main thread through `parentPort`
 * ({@link ControlPortHello}).
 */
import type { MessagePort } from 'node:worker_threads';
import type { AskRing } from '../slots/ask-ring.js';

/** Marks the hello message among whatever else a task posts on `parentPort`. */
export const CONTROL_PORT_HELLO = 'slotwise:control-port';

/** Worker → main, once per thread, through `parentPort`: the main thread's end of the port, and the thread's ask ring. */
export interface ControlPortHello {
  readonly type: typeof CONTROL_PORT_HELLO;
  readonly threadId: number;
  readonly port: MessagePort;
  readonly ring: AskRing;
}

/** Worker → main: run `executionId` waits (its wait number `n`) for a signal named `name`. */
export interface AwaitSignalMessage {
  readonly type: 'awaitSignal';
  readonly executionId: string;
  readonly n: number;
  readonly name: string;
}

/**
 * Main → worker: the payload of the signal delivered to wait `n` of run `executionId`. Posted
 * before the grant is stored in the run's cell, so a worker that sees the grant finds this
 * message in its port already (it reads it with `receiveMessageOnPort`, no event-loop hop).
 */
export interface SignalDeliveryMessage {
  readonly type: 'signalDelivery';
  readonly executionId: string;
  readonly n: number;
  readonly payload: unknown;
}

export function isControlPortHello(message: unknown): message is ControlPortHello {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === CONTROL_PORT_HELLO;
}
