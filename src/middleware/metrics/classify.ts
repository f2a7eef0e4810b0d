/**
 * Outcome classification: how a request ended, and its OpenTelemetry `error.type`.
 *
 * @module
 */

import type { Reply } from '../../core/types.js';
import { ErrorCodes, isCancelledError, isMcpPerfError } from '../../errors/index.js';
import { CANCELLED, OK, PROTOCOL_ERROR, SHED, TIMEOUT, TOOL_ERROR } from './outcomes.js';

/** The JSON-RPC code of the SDKs' request timeout (`ErrorCode.RequestTimeout`). */
export const REQUEST_TIMEOUT_CODE = -32001;

/** A cancellation reason that names a timeout (the SDKs cancel timed-out requests with one). */
const TIMEOUT_REASON = /timed? ?out|timeout|-32001/i;

/** The outcome of a request and its `error.type` (undefined when it succeeded). */
export interface Classified {
  outcome: number;
  errorType: string | undefined;
}

function ofCode(code: number): number {
  if (code === ErrorCodes.Overloaded || code === ErrorCodes.RateLimited) return SHED;
  if (code === REQUEST_TIMEOUT_CODE) return TIMEOUT;
  return PROTOCOL_ERROR;
}

/** The outcome of a request answered with `reply`. `out` is reused to avoid an allocation. */
export function classifyReply(method: string, reply: Reply, cancelled: boolean, out: Classified): Classified {
  if (reply.error !== undefined) {
    const code = reply.error.code;
    out.outcome = ofCode(code);
    out.errorType = out.outcome === TIMEOUT ? 'timeout' : String(code);
  } else if (cancelled) {
    out.outcome = CANCELLED;
    out.errorType = 'cancelled';
  } else if (method === 'tools/call' && reply.result?.isError === true) {
    out.outcome = TOOL_ERROR;
    out.errorType = 'tool_error';
  } else {
    out.outcome = OK;
    out.errorType = undefined;
  }
  return out;
}

/** The outcome of a request whose stack rejected with `error`. */
export function classifyThrown(error: unknown, out: Classified): Classified {
  if (isCancelledError(error)) {
    const timeout = TIMEOUT_REASON.test(error.message);
    out.outcome = timeout ? TIMEOUT : CANCELLED;
    out.errorType = timeout ? 'timeout' : 'cancelled';
  } else {
    const code = isMcpPerfError(error) ? error.rpcCode : ErrorCodes.InternalError;
    out.outcome = ofCode(code);
    out.errorType = out.outcome === TIMEOUT ? 'timeout' : String(code);
  }
  return out;
}
