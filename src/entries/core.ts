/**
 * `mcp-perf/core`: the pipeline underneath every stack, for authors of middleware and
 * adapters who need more than the `Middleware` type. Applications do not need it: the
 * main entry (`mcp-perf`) has everything to build, install and observe a stack.
 *
 * - {@link Pipeline} is what a `MiddlewareTransport` runs: it correlates requests and
 *   replies, answers locally made replies under the caller's id, forwards cancellation
 *   and progress. {@link PipelineEnds} are its two sides. Use it to put a stack on a
 *   channel that is not an SDK transport.
 * - {@link compose} runs a stack over a request yourself (a test, a batch runner);
 *   {@link middlewareName} is the name it reports a middleware by.
 * - {@link passesThrough} marks an `early` hook that only observes (calls `next()` and
 *   records what comes back), as metrics does, so a stack that ends in such hooks skips
 *   the early path.
 * - {@link completeModernResult} fills in the members a modern-era (2026-07-28) result
 *   must carry, as the pipeline does for every locally made reply.
 * - {@link isRequest}, {@link isNotification}, {@link isResponse} tell raw JSON-RPC
 *   messages apart; {@link Session} is the per-connection record behind `ctx.session`.
 *
 * Stable within a minor version, like the main entry; it changes more often than the
 * middleware APIs do.
 *
 * @example
 * ```ts
 * import { compose } from 'mcp-perf/core';
 *
 * const run = compose([metrics(), cache()]);
 * ```
 *
 * @module
 */

export { type ComposedStack, compose, middlewareName } from '../core/compose.js';
export { isNotification, isRequest, isResponse } from '../core/messages.js';
export { completeModernResult, Pipeline, type PipelineEnds, passesThrough } from '../core/pipeline.js';
export { Session } from '../core/session.js';
