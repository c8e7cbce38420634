/**
 * The worker thread's end of its control port (see `control-messages.ts`) and its ask ring,
 * opened on first use: threads whose tasks never wait open neither.
 */
import { MessageChannel, type MessagePort, parentPort, receiveMessageOnPort, threadId } from 'node:worker_threads';
import { type AskRing, createAskRing, pushHint } from '../slots/ask-ring.js';
import {
  type AwaitSignalMessage,
  CONTROL_PORT_HELLO,
  type ControlPortHello,
  type SignalDeliveryMessage,
} from './control-messages.js';

let port: MessagePort | null = null;
let ring: AskRing | null = null;
/** Deliveries read from the port for waits that have not looked yet, by `executionId:n`. */
const inbox = new Map<string, unknown>();

function controlPort(): MessagePort {
  if (port === null) {
    const channel = new MessageChannel();
    port = channel.port1;
    // Nothing listens on this end (deliveries are read synchronously), so it keeps nothing alive.
    port.unref();
    ring = createAskRing();
    const hello: ControlPortHello = { type: CONTROL_PORT_HELLO, threadId, port: channel.port2, ring };
    parentPort?.postMessage(hello, [channel.port2]);
  }
  return port;
}

/** Opens the port and ring if need be: called as a run begins a wait, well before it asks back. */
export function openControlPort(): void {
  controlPort();
}

/** Notes in the thread's ask ring that run number `run` asked for its slot back. */
export function hintAskBack(run: number): void {
  if (ring !== null) pushHint(ring, run);
}

/** Tells the main thread that wait `n` of a run waits for signal `name`. */
export function announceSignalWait(executionId: string, n: number, name: string): void {
  const message: AwaitSignalMessage = { type: 'awaitSignal', executionId, n, name };
  controlPort().postMessage(message);
}

/**
 * The payload delivered to wait `n` of a run. Called once the run saw its grant: main posted
 * the delivery before it stored the grant, so the message is in the port by now.
 */
export function takeDelivery(executionId: string, n: number): { readonly payload: unknown } | undefined {
  if (port !== null) {
    for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
      const message = entry.message as SignalDeliveryMessage;
      inbox.set(`${message.executionId}:${String(message.n)}`, message.payload);
    }
  }
  const key = `${executionId}:${String(n)}`;
  if (!inbox.has(key)) return undefined;
  const payload = inbox.get(key);
  inbox.delete(key);
  return { payload };
}
