/**
 * The remainders of cut results, kept in a {@link CacheStore} and addressed by URI.
 *
 * URI scheme: `mcp-perf://token-budget/{id}/{offset}`, where `{id}` is 128 random bits
 * (base64url) naming one cut result and `{offset}` the position, in UTF-16 code units, in
 * its remainder at which a page starts. A remainder is a list of segments (the rest of
 * the text block that was cut, then each later text block, then the structured content
 * as JSON when it had to go); offsets run over their concatenation, and a page never
 * crosses from one segment into the next.
 */

import { randomBytes } from 'node:crypto';
import type { CacheEntry, CacheStore, MaybePromise } from '../../stores/types.js';

/** The prefix of every page URI. */
export const PAGE_URI_PREFIX = 'mcp-perf://token-budget/';

/** What is stored for one cut result. */
export interface Remainder {
  /** Who may read it: a digest of the principal, the session id, or `''` (the id is the secret). */
  readonly owner: string;
  /** The tool whose result was cut. */
  readonly tool: string;
  /** The segments, in order. */
  readonly segments: readonly string[];
  /** What each segment is, e.g. `content[0]`, `structuredContent`. */
  readonly labels: readonly string[];
  /** Tokens of all the segments, as counted when the result was cut. */
  readonly tokens: number;
}

/** A page URI taken apart. */
export interface PageAddress {
  /** The remainder's id. */
  id: string;
  /** The offset the page starts at. */
  offset: number;
}

const ID = /^[A-Za-z0-9_-]{22}$/;

/** A fresh remainder id. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** The URI of the page of remainder `id` starting at `offset`. */
export function pageUri(id: string, offset: number): string {
  return `${PAGE_URI_PREFIX}${id}/${offset}`;
}

/** The id and offset of a page URI, or `undefined` when `uri` is not one. */
export function parsePageUri(uri: unknown): PageAddress | undefined {
  if (typeof uri !== 'string' || !uri.startsWith(PAGE_URI_PREFIX)) return undefined;
  const rest = uri.slice(PAGE_URI_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash === -1) return undefined;
  const id = rest.slice(0, slash);
  const digits = rest.slice(slash + 1);
  if (!ID.test(id) || !/^(?:0|[1-9]\d{0,15})$/.test(digits)) return undefined;
  return { id, offset: Number(digits) };
}

/** The key a remainder is stored under (the store may be shared with a cache). */
export function storeKey(id: string): string {
  return `mcp-perf:token-budget:${id}`;
}

/** Stores `remainder` for `ttlMs`. */
export function putRemainder(
  store: CacheStore,
  id: string,
  remainder: Remainder,
  ttlMs: number,
  now: number,
): MaybePromise<void> {
  let size = 64 + remainder.owner.length + remainder.tool.length;
  for (const segment of remainder.segments) size += segment.length * 2;
  const entry: CacheEntry = {
    value: remainder,
    size,
    storedAt: now,
    freshUntil: now + ttlMs,
    staleUntil: now + ttlMs,
    tags: ['token-budget'],
  };
  return store.set(storeKey(id), entry);
}

function isRemainder(value: unknown): value is Remainder {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Remainder;
  return (
    typeof r.owner === 'string' &&
    typeof r.tool === 'string' &&
    Array.isArray(r.segments) &&
    Array.isArray(r.labels) &&
    typeof r.tokens === 'number' &&
    r.segments.every((s) => typeof s === 'string')
  );
}

/** The remainder under `id` if it exists, is fresh and belongs to `owner`. */
export function getRemainder(
  store: CacheStore,
  id: string,
  owner: string,
  now: number,
): MaybePromise<Remainder | undefined> {
  const read = (entry: CacheEntry | undefined): Remainder | undefined => {
    if (entry === undefined || entry.freshUntil <= now || !isRemainder(entry.value)) return undefined;
    return entry.value.owner === owner ? entry.value : undefined;
  };
  const got = store.get(storeKey(id));
  return got instanceof Promise ? got.then(read) : read(got);
}

/** Where `offset` falls: the segment index and the offset inside it; `undefined` past the end. */
export function locate(remainder: Remainder, offset: number): [number, number] | undefined {
  let at = offset;
  for (let i = 0; i < remainder.segments.length; i++) {
    const length = remainder.segments[i]!.length;
    if (at < length) return [i, at];
    at -= length;
  }
  return undefined;
}

/** The total length of a remainder's segments. */
export function remainderLength(remainder: Remainder): number {
  let n = 0;
  for (const segment of remainder.segments) n += segment.length;
  return n;
}
