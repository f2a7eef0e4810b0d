/**
 * The one contract every `withX` helper follows, and the brand that tells a
 * middleware instance from an options object.
 *
 * ```ts
 * withX(server, options)          // → server   (McpServer, Server or Client, SDK v1 or v2)
 * withX(server, instance)         // → server   (an instance made by x(); shared, not copied)
 * withX(transport, options, wrap) // → the wrapping transport ({ side } is required)
 * ```
 *
 * @module
 */

import type { Middleware } from '../core/types.js';
import { type ConnectTarget, withMiddleware } from './targets.js';
import type { McpTransport, MiddlewareTransport, WrapTransportOptions } from './transport.js';

const KIND = Symbol.for('mcp-perf.middleware-kind');

/**
 * Marks a middleware instance as made by the factory `kind` (e.g. `cache`), so that
 * {@link isMiddlewareOfKind} recognises it across two installed copies of the library.
 * Returns the instance.
 */
export function brandMiddleware<M extends object>(instance: M, kind: string): M {
  Object.defineProperty(instance, KIND, { value: kind, enumerable: false });
  return instance;
}

/** True for a middleware instance made by the factory `kind` (of any installed copy). */
export function isMiddlewareOfKind(value: unknown, kind: string): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[KIND] === kind;
}

/**
 * The factory `kind`'s name recorded on a middleware instance, or `undefined` for a
 * middleware the library did not make.
 */
export function middlewareKind(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const kind = (value as Record<symbol, unknown>)[KIND];
  return typeof kind === 'string' ? kind : undefined;
}

/**
 * The body of every `withX` helper: adds `layer` to `target` and returns the target, or,
 * on a bare transport (with `wrap`), the wrapping transport.
 */
export function withLayer(
  target: ConnectTarget | McpTransport,
  layer: Middleware,
  wrap: WrapTransportOptions | undefined,
): unknown {
  if (wrap !== undefined) return withMiddleware(target as McpTransport, [layer], wrap);
  return withMiddleware(target as ConnectTarget, [layer]);
}

/**
 * The signature every `withX` helper has: options or an instance; the target back, or
 * the wrapping transport for a bare transport.
 */
export interface WithHelper<Options, Instance extends Middleware> {
  <T extends ConnectTarget>(target: T, options?: Options | Instance): T;
  (
    target: McpTransport,
    options: Options | Instance | undefined,
    wrap: WrapTransportOptions,
  ): MiddlewareTransport;
}

/**
 * Makes a `withX` helper from a factory: the helper accepts options (passed to
 * `factory`) or an instance the factory made (recognised by its brand `kind`).
 */
export function defineWith<Options, Instance extends Middleware>(
  kind: string,
  factory: (options?: Options) => Instance,
): WithHelper<Options, Instance> {
  return function withHelper(
    target: ConnectTarget | McpTransport,
    options?: Options | Instance,
    wrap?: WrapTransportOptions,
  ): unknown {
    const layer = isMiddlewareOfKind(options, kind) ? (options as Instance) : factory(options as Options);
    return withLayer(target, layer, wrap);
  } as WithHelper<Options, Instance>;
}
