import type { JetStreamClient } from '@nats-io/jetstream';
import { decodeEnvelope } from '../envelope.js';

export interface StreamedEvent {
  seq: number;
  msgId: string | undefined;
  id: string;
  globalPosition: bigint;
  subject: string;
}

/** Every message of a stream in stream order, through an ordered consumer. */
export async function readWholeStream(js: JetStreamClient, streamName: string, { idleMs = 500 } = {}): Promise<StreamedEvent[]> {
  const jsm = await js.jetstreamManager();
  const total = (await jsm.streams.info(streamName)).state.messages;
  const out: StreamedEvent[] = [];
  if (total === 0) return out;
  const consumer = await js.consumers.get(streamName);
  const messages = await consumer.consume({ max_messages: 1_000, idle_heartbeat: idleMs });
  for await (const msg of messages) {
    const envelope = decodeEnvelope(msg.data);
    out.push({ seq: msg.seq, msgId: msg.headers?.get('Nats-Msg-Id'), id: envelope.id, globalPosition: BigInt(envelope.globalposition), subject: msg.subject });
    if (out.length >= total) break;
  }
  await messages.close();
  return out;
}

/** A JetStream client whose publish of the chosen event ids fails once, before anything is sent. */
export function failingOnce(js: JetStreamClient, failIds: Set<string>): JetStreamClient {
  return new Proxy(js, {
    get(target, property, receiver) {
      if (property !== 'publish') return Reflect.get(target, property, receiver);
      return (subject: string, payload: Uint8Array, options?: { msgID?: string }) => {
        if (options?.msgID !== undefined && failIds.delete(options.msgID)) {
          return Promise.reject(new Error(`injected: publish of ${options.msgID} lost`));
        }
        return target.publish(subject, payload, options);
      };
    },
  });
}
