/**
 * Errors. One base class with a stable string `code` and the JSON-RPC code it maps to;
 * guards check a brand rather than `instanceof`, so they work across two installed
 * copies of the library. Errors become JSON-RPC errors only at the edge
 * ({@link toJsonRpcError}).
 *
 * JSON-RPC codes used by this library:
 *
 * | code | when | `data` |
 * |---|---|---|
 * | `-31503` | a request was shed: a concurrency limit's queue is full or its wait ran out | `{ retryAfterMs, scope, limit, running, queued, maxQueue }` |
 * | `-31429` | a rate limit refused a request | `{ retryAfterMs, scope, limit }` |
 * | `-31402` | a cumulative token budget (per session or principal) is used up | `{ retryAfterMs, scope, limit, used, resetsAt }` |
 * | `-32602` | invalid params (the protocol's own code) | |
 * | `-32603` | a middleware failed unexpectedly (the protocol's internal error) | |
 *
 * Load shedding and rate limiting use codes outside the JSON-RPC reserved range
 * (`-32768..-32000`), which the protocol keeps for itself; a client recognises them by
 * `data.retryAfterMs` and should back off that long before retrying.
 *
 * @module
 */

import type { JsonRpcError } from '../core/types.js';

const BRAND = Symbol.for('mcp-perf.error');

/** JSON-RPC error codes the library sends. */
export const ErrorCodes = {
  /** A request was shed by a concurrency limit (queue full or wait expired). */
  Overloaded: -31503,
  /** A request was refused by a rate limit. */
  RateLimited: -31429,
  /** A request was refused because a cumulative token budget is used up. */
  TokenBudgetExceeded: -31402,
  /** The protocol's "invalid params". */
  InvalidParams: -32602,
  /** The protocol's "invalid request". */
  InvalidRequest: -32600,
  /** The protocol's "internal error". */
  InternalError: -32603,
} as const;

/** Base class of every error this library raises. */
export class McpPerfError extends Error {
  /** Stable machine-readable code, e.g. `overloaded`. */
  readonly code: string;
  /** The JSON-RPC error code this error becomes at the edge. */
  readonly rpcCode: number;
  /** Structured detail sent as the JSON-RPC error's `data`. */
  readonly data: unknown;
  /** @internal */
  readonly [BRAND] = true;

  /**
   * @param code - stable string code
   * @param message - human-readable message naming what was wrong
   * @param rpcCode - JSON-RPC code used when sent to a peer
   * @param data - structured detail for the peer
   * @param options - `stackTrace: false` skips capturing a stack trace (`stack` is then the
   *   name and message only), for errors expected in bulk whose message and data say all
   */
  constructor(
    code: string,
    message: string,
    rpcCode: number = ErrorCodes.InternalError,
    data?: unknown,
    options?: { stackTrace?: boolean },
  ) {
    const limit = Error.stackTraceLimit;
    if (options?.stackTrace === false) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'McpPerfError';
    this.code = code;
    this.rpcCode = rpcCode;
    this.data = data;
  }

  /** This error as the `error` member of a JSON-RPC response. */
  toJsonRpc(): JsonRpcError {
    return this.data === undefined
      ? { code: this.rpcCode, message: this.message }
      : { code: this.rpcCode, message: this.message, data: this.data };
  }
}

/** True for any error raised by this library (any installed copy). */
export function isMcpPerfError(error: unknown): error is McpPerfError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

/** An option passed to a factory is missing, of the wrong type or out of range. */
export class InvalidOptionError extends McpPerfError {
  /** The option's path, e.g. `maxBytes`. */
  readonly option: string;
  /**
   * @param where - the factory, e.g. `cache`
   * @param option - the option's path
   * @param expected - what it must be, e.g. `a positive integer`
   * @param got - the value received
   */
  constructor(where: string, option: string, expected: string, got: unknown) {
    super('invalid_option', `${where}: options.${option} must be ${expected} (got ${describe(got)})`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

/** True for {@link InvalidOptionError}. */
export function isInvalidOptionError(error: unknown): error is InvalidOptionError {
  return isMcpPerfError(error) && error.code === 'invalid_option';
}

/** The caller cancelled the request, or it was dropped; no answer is sent for it. */
export class CancelledError extends McpPerfError {
  /**
   * @param reason - why, e.g. the caller's cancellation reason
   */
  constructor(reason = 'request cancelled') {
    super('cancelled', reason, ErrorCodes.InternalError);
    this.name = 'CancelledError';
  }
}

/** True for {@link CancelledError}. */
export function isCancelledError(error: unknown): error is CancelledError {
  return isMcpPerfError(error) && error.code === 'cancelled';
}

/** The connection closed while the request was in flight. */
export class ConnectionClosedError extends McpPerfError {
  constructor() {
    super('connection_closed', 'connection closed before the request was answered', ErrorCodes.InternalError);
    this.name = 'ConnectionClosedError';
  }
}

/** True for {@link ConnectionClosedError}. */
export function isConnectionClosedError(error: unknown): error is ConnectionClosedError {
  return isMcpPerfError(error) && error.code === 'connection_closed';
}

/** A middleware called `next()` twice for one request. */
export class NextCalledTwiceError extends McpPerfError {
  /**
   * @param middleware - the offending middleware's name
   */
  constructor(middleware: string) {
    super(
      'next_called_twice',
      `middleware "${middleware}" called next() more than once`,
      ErrorCodes.InternalError,
    );
    this.name = 'NextCalledTwiceError';
  }
}

/** A message that is not valid JSON-RPC reached the pipeline; it was dropped. */
export class MalformedMessageError extends McpPerfError {
  /**
   * @param detail - what was wrong with it
   */
  constructor(detail: string) {
    super('malformed_message', `malformed JSON-RPC message dropped: ${detail}`, ErrorCodes.InvalidRequest);
    this.name = 'MalformedMessageError';
  }
}

/** True for {@link MalformedMessageError}. */
export function isMalformedMessageError(error: unknown): error is MalformedMessageError {
  return isMcpPerfError(error) && error.code === 'malformed_message';
}

/** Detail of a refusal by a concurrency or rate limit. */
export interface OverloadDetail {
  /** How long the client should wait before retrying, in milliseconds. */
  retryAfterMs: number;
  /** The limit's scope, e.g. `tool:search` or `global`. */
  scope: string;
  /** The limit that was reached. */
  limit: number;
  /** Requests running in that scope when this one was refused. */
  running?: number;
  /** Requests queued in that scope when this one was refused. */
  queued?: number;
  /** The queue's bound. */
  maxQueue?: number;
}

/** A request was shed by a concurrency limit: its queue was full or its wait expired. */
export class OverloadedError extends McpPerfError {
  /** Why it was shed, with the numbers. */
  declare readonly data: OverloadDetail;
  /**
   * @param message - names the limit, e.g. `concurrency limit reached for tool "search": 8/8 running, 32/32 queued`
   * @param detail - the numbers
   */
  constructor(message: string, detail: OverloadDetail) {
    // No stack trace: refusals are expected under load, carry their reason in the
    // message and data, and capturing a trace costs ten times the rest of the refusal.
    super('overloaded', message, ErrorCodes.Overloaded, detail, { stackTrace: false });
    this.name = 'OverloadedError';
  }
}

/** True for {@link OverloadedError}. */
export function isOverloadedError(error: unknown): error is OverloadedError {
  return isMcpPerfError(error) && error.code === 'overloaded';
}

/** A request was refused by a rate limit. */
export class RateLimitedError extends McpPerfError {
  /** The limit and when to retry. */
  declare readonly data: OverloadDetail;
  /**
   * @param message - names the limit
   * @param detail - the numbers
   */
  constructor(message: string, detail: OverloadDetail) {
    // No stack trace: refusals are expected under load, carry their reason in the
    // message and data, and capturing a trace costs ten times the rest of the refusal.
    super('rate_limited', message, ErrorCodes.RateLimited, detail, { stackTrace: false });
    this.name = 'RateLimitedError';
  }
}

/** True for {@link RateLimitedError}. */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return isMcpPerfError(error) && error.code === 'rate_limited';
}

/** Detail of a refusal by a cumulative token budget. */
export interface TokenBudgetDetail {
  /** How long until the budget resets, in milliseconds; absent when it never resets (a session budget without a window). */
  retryAfterMs?: number;
  /** Which budget: `session` or `principal`. */
  scope: 'session' | 'principal';
  /** The budget, in tokens. */
  limit: number;
  /** Tokens used so far in the current window. */
  used: number;
  /** When the budget resets, epoch milliseconds; absent when it never resets. */
  resetsAt?: number;
}

/**
 * A request was refused because a cumulative token budget (per session or per principal)
 * is used up. Retryable once the budget resets (`data.retryAfterMs`).
 */
export class TokenBudgetExceededError extends McpPerfError {
  /** The budget and when it resets. */
  declare readonly data: TokenBudgetDetail;
  /**
   * @param message - names the budget and when it resets
   * @param detail - the numbers
   */
  constructor(message: string, detail: TokenBudgetDetail) {
    super('token_budget_exceeded', message, ErrorCodes.TokenBudgetExceeded, detail, { stackTrace: false });
    this.name = 'TokenBudgetExceededError';
  }
}

/** True for {@link TokenBudgetExceededError}. */
export function isTokenBudgetExceededError(error: unknown): error is TokenBudgetExceededError {
  return isMcpPerfError(error) && error.code === 'token_budget_exceeded';
}

/** A store (e.g. Redis) failed or timed out; the cache treats it as a miss. */
export class StoreError extends McpPerfError {
  /**
   * @param store - the store's name
   * @param operation - what was attempted
   * @param cause - the underlying error
   */
  constructor(store: string, operation: string, cause: unknown) {
    super(
      'store_error',
      `${store} store: ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'StoreError';
    this.cause = cause;
  }
}

/** True for {@link StoreError}. */
export function isStoreError(error: unknown): error is StoreError {
  return isMcpPerfError(error) && error.code === 'store_error';
}

/**
 * Converts anything thrown inside the pipeline to the `error` member of a JSON-RPC
 * response: library errors keep their code and data; anything else becomes an
 * internal error naming the middleware.
 */
export function toJsonRpcError(error: unknown, where = 'middleware'): JsonRpcError {
  if (isMcpPerfError(error)) return error.toJsonRpc();
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCodes.InternalError, message: `${where} failed: ${message}` };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
