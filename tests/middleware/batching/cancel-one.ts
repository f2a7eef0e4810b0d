import assert from 'node:assert/strict';
import { BATCH_METHOD, type BatchingMiddleware, type JsonObject } from '../../../src/index.js';
import type { Counts, Deferred } from '../../helpers/servers.js';
import { type RecordingTransport, textOf } from '../../helpers/stacks.js';

/** Calls a tool through either SDK; `signal` cancels the call. */
export type CallTool = (name: string, args: JsonObject, signal?: AbortSignal) => Promise<unknown>;

/**
 * Sends a lead call (it goes at once) and two `gate` calls (they follow as one batch),
 * cancels the first gate call once both are with the server, and checks that the
 * cancellation reached the server for that request alone: one `notifications/cancelled`
 * on the wire under its id inside the batch, its handler's signal aborted, the other gate
 * call and the lead answered normally, and the batch answer without the cancelled one.
 */
export async function cancelOneOfABatch(
  call: CallTool,
  wire: { recorder: RecordingTransport; counts: Counts; gate: Deferred; client: BatchingMiddleware },
): Promise<void> {
  const { recorder, counts, gate } = wire;
  recorder.sent.length = 0;
  const controller = new AbortController();
  const lead = call('echo', { text: 'lead' });
  const cancelled = call('gate', { label: 'one' }, controller.signal);
  const kept = call('gate', { label: 'two' });
  while ((counts.gate ?? 0) < 2) await new Promise((resolve) => setImmediate(resolve));
  const sent = () => recorder.sent.map((s) => s.message as { method?: string; params?: JsonObject });
  const batch = sent().find((m) => m.method === BATCH_METHOD);
  assert.ok(batch?.params !== undefined, 'the two gate calls left as one batch');
  const [one, two] = batch.params.requests as { id: number }[];
  controller.abort();
  await assert.rejects(cancelled);
  gate.resolve();
  assert.equal(textOf(await kept), 'opened two');
  assert.equal(textOf(await lead), 'lead');
  assert.equal(
    counts['gate:aborted'],
    1,
    "the cancelled item's handler saw its abort signal, the other did not",
  );
  assert.deepEqual(
    sent()
      .filter((m) => m.method === 'notifications/cancelled')
      .map((m) => m.params?.requestId),
    [one?.id],
    'one cancellation on the wire, under the id of the request inside the batch',
  );
  const answer = recorder.received.find((m) => 'result' in m && (m.result as JsonObject).responses) as
    | { result: { responses: { id: number }[] } }
    | undefined;
  assert.deepEqual(
    answer?.result.responses.map((r) => r.id),
    [two?.id],
    'the batch answers the kept request only',
  );
  assert.equal(wire.client.stats().requestsBatched, 2);
}
