/**
 * The wire form of conditional ("not modified") answers between two mcp-perf peers,
 * shared by the cache (which asks, on the client side) and the `notModified` middleware
 * (which answers, on the server side). The two never import each other.
 *
 * - Agreement: the client offers `{ hash: ['sha256'] }` under {@link CONDITIONAL_CAPABILITY}
 *   in `capabilities.experimental` of `initialize` (legacy era) or in the `extensions` of
 *   the client capabilities of `server/discover` (modern era); the server accepts with
 *   `{ hash: 'sha256' }` at the same place of the result.
 * - A revalidation carries `_meta[CONDITIONAL_CAPABILITY] = { ifNoneMatch: <hash> }`.
 * - The answer is either the full result (no `_meta` of ours) or
 *   `{ _meta: { [CONDITIONAL_CAPABILITY]: { notModified: <hash> } } }`.
 *
 * The hash is SHA-256 (base64url) of the result's `JSON.stringify` text. JSON text read
 * and written again is the same text (key order included), so both ends reach the same
 * hash for the same result without a canonical form; any difference only costs a full
 * answer.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { META_CLIENT_CAPABILITIES } from '../core/messages.js';
import type { JsonObject } from '../core/types.js';

/** The capability and `_meta` key of conditional answers. */
export const CONDITIONAL_CAPABILITY = 'io.mcp-perf/conditional';

/** The hash both sides compute. */
export const CONDITIONAL_HASH = 'sha256';

const OFFER = Object.freeze({ hash: Object.freeze([CONDITIONAL_HASH]) });
const ACCEPTANCE = Object.freeze({ hash: CONDITIONAL_HASH });

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** Hashes of frozen results (a cached entry's value), which cannot change. */
const memo = new WeakMap<object, string>();

/** The hash of a result's JSON text. */
export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** The hash of a result (memoized for frozen results, such as a cached entry's value). */
export function hashResult(result: JsonObject): string {
  const frozen = Object.isFrozen(result);
  if (frozen) {
    const known = memo.get(result);
    if (known !== undefined) return known;
  }
  const hash = hashText(JSON.stringify(result));
  if (frozen) memo.set(result, hash);
  return hash;
}

/** The handshake params with the client's offer added (a copy). */
export function offerConditional(method: string, params: JsonObject | undefined): JsonObject {
  const p = params ?? {};
  if (method === 'initialize') {
    const capabilities = asObject(p.capabilities) ?? {};
    const experimental = asObject(capabilities.experimental) ?? {};
    return {
      ...p,
      capabilities: { ...capabilities, experimental: { ...experimental, [CONDITIONAL_CAPABILITY]: OFFER } },
    };
  }
  const meta = asObject(p._meta) ?? {};
  const capabilities = asObject(meta[META_CLIENT_CAPABILITIES]) ?? {};
  const extensions = asObject(capabilities.extensions) ?? {};
  return {
    ...p,
    _meta: {
      ...meta,
      [META_CLIENT_CAPABILITIES]: {
        ...capabilities,
        extensions: { ...extensions, [CONDITIONAL_CAPABILITY]: OFFER },
      },
    },
  };
}

/** Whether handshake params carry an offer this side can serve. */
export function offersConditional(method: string, params: JsonObject | undefined): boolean {
  const capabilities =
    method === 'initialize'
      ? asObject(params?.capabilities)?.experimental
      : asObject(asObject(params?._meta)?.[META_CLIENT_CAPABILITIES])?.extensions;
  const offer = asObject(asObject(capabilities)?.[CONDITIONAL_CAPABILITY]);
  return Array.isArray(offer?.hash) && offer.hash.includes(CONDITIONAL_HASH);
}

function member(method: string): 'experimental' | 'extensions' {
  return method === 'initialize' ? 'experimental' : 'extensions';
}

/** The handshake result with the server's acceptance added (a copy). */
export function acceptConditional(method: string, result: JsonObject): JsonObject {
  const capabilities = asObject(result.capabilities) ?? {};
  const at = member(method);
  return {
    ...result,
    capabilities: {
      ...capabilities,
      [at]: { ...asObject(capabilities[at]), [CONDITIONAL_CAPABILITY]: ACCEPTANCE },
    },
  };
}

/** Whether a handshake result accepts conditional answers. */
export function acceptsConditional(method: string, result: JsonObject | undefined): boolean {
  const capabilities = asObject(result?.capabilities);
  return (
    asObject(asObject(capabilities?.[member(method)])?.[CONDITIONAL_CAPABILITY])?.hash === CONDITIONAL_HASH
  );
}

/**
 * The handshake result without the acceptance (a copy; the same object when it has none),
 * so that it never travels further than the hop that agreed to it.
 */
export function withoutAcceptance(method: string, result: JsonObject): JsonObject {
  const capabilities = asObject(result.capabilities);
  const at = member(method);
  const entries = asObject(capabilities?.[at]);
  if (entries === undefined || !(CONDITIONAL_CAPABILITY in entries)) return result;
  const { [CONDITIONAL_CAPABILITY]: _dropped, ...rest } = entries;
  return { ...result, capabilities: { ...capabilities, [at]: rest } };
}

/** Request params asking for a not-modified answer when the result still hashes to `hash` (a copy). */
export function ifNoneMatch(params: JsonObject | undefined, hash: string): JsonObject {
  const meta = asObject(params?._meta);
  return { ...params, _meta: { ...meta, [CONDITIONAL_CAPABILITY]: { ifNoneMatch: hash } } };
}

/**
 * The hash a request asks about, or `undefined`. Answers `null` for a request that carries
 * our `_meta` key in a shape this side does not understand.
 */
export function askedHash(params: JsonObject | undefined): string | null | undefined {
  const meta = params?._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const asked = (meta as JsonObject)[CONDITIONAL_CAPABILITY];
  if (asked === undefined) return undefined;
  const hash = asObject(asked)?.ifNoneMatch;
  return typeof hash === 'string' && hash.length > 0 && hash.length <= 128 ? hash : null;
}

/** Request params without our `_meta` key (a copy; `_meta` is dropped when nothing else is left). */
export function withoutAsk(params: JsonObject): JsonObject {
  const { [CONDITIONAL_CAPABILITY]: _dropped, ...meta } = params._meta as JsonObject;
  const { _meta: _old, ...rest } = params;
  return Object.keys(meta).length === 0 ? rest : { ...rest, _meta: meta };
}

/** The tiny answer: the result still hashes to `hash`. */
export function notModifiedResult(hash: string): JsonObject {
  return { _meta: { [CONDITIONAL_CAPABILITY]: { notModified: hash } } };
}

/** The hash a not-modified answer names, or `undefined` for any other result. */
export function notModifiedHash(result: JsonObject | undefined): string | undefined {
  const meta = result?._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const mark = asObject((meta as JsonObject)[CONDITIONAL_CAPABILITY])?.notModified;
  return typeof mark === 'string' ? mark : undefined;
}
