/**
 * Exact token counting on `tiktoken` (the WASM build of OpenAI's tokenizer).
 *
 * Reachable only from the `mcp-perf/tokens` entry, so applications that never import it
 * never load `tiktoken`. Even then nothing is loaded until the first `count()` (or
 * `warm()`): the module requires `tiktoken` lazily and builds one encoder per encoding
 * for the whole process, shared by every counter.
 *
 * @module
 */

import { createRequire } from 'node:module';
import type { Tiktoken } from 'tiktoken';
import { InvalidOptionError, McpPerfError } from '../errors/index.js';
import type { TokenCounter } from './types.js';

/** The encodings the exact counter supports. */
export type TokenEncoding = 'o200k_base' | 'cl100k_base';

/** Options of {@link exactTokenCounter}. Give `encoding` or `model`, not both. */
export interface ExactTokenCounterOptions {
  /**
   * The tokenizer encoding. Default `'o200k_base'` (GPT-4o, GPT-4.1, o-series, GPT-5).
   */
  encoding?: TokenEncoding;
  /**
   * A model name whose encoding is looked up with {@link encodingForModel}, e.g.
   * `'gpt-4o-mini'` or `'gpt-3.5-turbo'`. An unknown model is an error at factory time.
   */
  model?: string;
}

/** A {@link TokenCounter} with the exact counts of one `tiktoken` encoding. */
export interface ExactTokenCounter extends TokenCounter {
  /** Always true. */
  readonly exact: true;
  /** The encoding this counter uses. */
  readonly encoding: TokenEncoding;
  /**
   * Builds the shared encoder now (a few hundred milliseconds, once per encoding per
   * process) so the first `count()` on a hot path does not pay for it. Idempotent.
   */
  warm(): void;
  /**
   * Releases this counter's hold on the shared encoder; the encoder is freed when no
   * other counter holds it. The counter stays usable: a later `count()` takes the
   * encoder again, rebuilding it if it was freed. Idempotent.
   */
  dispose(): void;
}

/** The default encoding of {@link exactTokenCounter}. */
export const DEFAULT_TOKEN_ENCODING: TokenEncoding = 'o200k_base';

const ENCODINGS: readonly TokenEncoding[] = ['o200k_base', 'cl100k_base'];

/** Model-name prefixes, most specific first; a prefix matches the name or `prefix-…`. */
const MODEL_PREFIXES: ReadonlyArray<readonly [string, TokenEncoding]> = [
  ['gpt-4o', 'o200k_base'],
  ['chatgpt-4o', 'o200k_base'],
  ['gpt-4.1', 'o200k_base'],
  ['gpt-4.5', 'o200k_base'],
  ['gpt-5', 'o200k_base'],
  ['o1', 'o200k_base'],
  ['o3', 'o200k_base'],
  ['o4', 'o200k_base'],
  ['gpt-oss', 'o200k_base'],
  ['gpt-4', 'cl100k_base'],
  ['gpt-3.5-turbo', 'cl100k_base'],
  ['gpt-35-turbo', 'cl100k_base'],
  ['text-embedding-3', 'cl100k_base'],
  ['text-embedding-ada-002', 'cl100k_base'],
];

const KNOWN_MODELS =
  'a known OpenAI model name (gpt-4o*, gpt-4.1*, gpt-4.5*, gpt-5*, o1*, o3*, o4*, gpt-oss*, gpt-4*, ' +
  'gpt-3.5-turbo*, text-embedding-3-*, text-embedding-ada-002); pass options.encoding for other models';

/**
 * The encoding a model uses. Matches the name case-insensitively, ignoring a provider
 * prefix such as `openai/`, and accepts dated or sized variants (`gpt-4o-2024-08-06`,
 * `gpt-4.1-mini`, `o3-mini`).
 *
 * - `gpt-4o`, `chatgpt-4o`, `gpt-4.1`, `gpt-4.5`, `gpt-5`, `o1`, `o3`, `o4`, `gpt-oss`
 *   → `o200k_base`
 * - `gpt-4` (incl. `gpt-4-turbo`), `gpt-3.5-turbo`, `text-embedding-3-*`,
 *   `text-embedding-ada-002` → `cl100k_base`
 *
 * @throws InvalidOptionError naming the model when it is not one of those.
 * @example
 * ```ts
 * encodingForModel('gpt-4o-mini'); // 'o200k_base'
 * encodingForModel('gpt-3.5-turbo'); // 'cl100k_base'
 * ```
 */
export function encodingForModel(model: string): TokenEncoding {
  if (typeof model === 'string') {
    const name = model
      .trim()
      .toLowerCase()
      .replace(/^openai\//, '');
    for (const [prefix, encoding] of MODEL_PREFIXES) {
      if (name === prefix || (name.startsWith(prefix) && name.charCodeAt(prefix.length) === 45) /* - */) {
        return encoding;
      }
    }
  }
  throw new InvalidOptionError('exactTokenCounter', 'model', KNOWN_MODELS, model);
}

interface EncoderSlot {
  encoding: TokenEncoding;
  encoder: Tiktoken | undefined;
  holders: number;
}

const slots = new Map<TokenEncoding, EncoderSlot>();
let tiktokenModule: typeof import('tiktoken') | undefined;

function slotFor(encoding: TokenEncoding): EncoderSlot {
  let slot = slots.get(encoding);
  if (slot === undefined) {
    slot = { encoding, encoder: undefined, holders: 0 };
    slots.set(encoding, slot);
  }
  return slot;
}

function loadTiktoken(): typeof import('tiktoken') {
  try {
    return createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
  } catch (cause) {
    const error = new McpPerfError(
      'missing_dependency',
      'exactTokenCounter needs the optional peer dependency "tiktoken" (npm install tiktoken): ' +
        (cause instanceof Error ? cause.message : String(cause)),
    );
    error.cause = cause;
    throw error;
  }
}

function build(slot: EncoderSlot): Tiktoken {
  // Required on first use rather than imported: tiktoken instantiates its WASM module
  // as soon as it is loaded. Its package ships the ranks, so nothing is fetched.
  tiktokenModule ??= loadTiktoken();
  const encoder = tiktokenModule.get_encoding(slot.encoding);
  slot.encoder = encoder;
  return encoder;
}

/**
 * Frees every shared encoder now, whoever holds it. Counters stay usable: the next
 * `count()` rebuilds the encoder it needs. Returns how many encoders were freed.
 *
 * Note that WebAssembly memory never shrinks: freeing returns the space to the
 * tokenizer's allocator (a rebuilt encoder reuses it), not to the operating system.
 */
export function freeEncoders(): number {
  let freed = 0;
  for (const slot of slots.values()) {
    if (slot.encoder !== undefined) {
      slot.encoder.free();
      slot.encoder = undefined;
      freed++;
    }
  }
  return freed;
}

/** The number of encoders currently built (at most one per encoding). */
export function liveEncoderCount(): number {
  let live = 0;
  for (const slot of slots.values()) if (slot.encoder !== undefined) live++;
  return live;
}

/** Empty lists: every special token (e.g. `<|endoftext|>`) is encoded as ordinary text. */
const NO_SPECIAL: string[] = [];

class TiktokenCounter implements ExactTokenCounter {
  readonly name: string;
  readonly exact = true as const;
  readonly encoding: TokenEncoding;
  readonly #slot: EncoderSlot;
  #holding = false;

  constructor(encoding: TokenEncoding) {
    this.encoding = encoding;
    this.name = `tiktoken:${encoding}`;
    this.#slot = slotFor(encoding);
  }

  count(text: string): number {
    if (!this.#holding) this.#hold();
    return (this.#slot.encoder ?? build(this.#slot)).encode(text, NO_SPECIAL, NO_SPECIAL).length;
  }

  warm(): void {
    if (!this.#holding) this.#hold();
    if (this.#slot.encoder === undefined) build(this.#slot);
  }

  dispose(): void {
    if (!this.#holding) return;
    this.#holding = false;
    const slot = this.#slot;
    slot.holders--;
    if (slot.holders === 0 && slot.encoder !== undefined) {
      slot.encoder.free();
      slot.encoder = undefined;
    }
  }

  #hold(): void {
    this.#holding = true;
    this.#slot.holders++;
  }
}

/**
 * Creates an exact token counter on `tiktoken`. Cheap: the encoder is built on the
 * first `count()` (or `warm()`) and shared process-wide with every other counter of the
 * same encoding (about 23 MB of WASM memory each, so never one per counter).
 * Special tokens in the text, such as `<|endoftext|>`, are counted as ordinary text.
 *
 * Throughput is roughly 0.5–1 M tokens/s on English and JSON (about a third of that on
 * non-Latin text and tool schemas); when an estimate is enough, the approximate counter
 * from the main entry is about 60× faster.
 *
 * @param options - `encoding` (default `'o200k_base'`) or `model`
 * @throws InvalidOptionError for an unknown encoding or model, or both given.
 * @example
 * ```ts
 * import { exactTokenCounter } from 'mcp-perf/tokens';
 *
 * const counter = exactTokenCounter({ model: 'gpt-4.1' });
 * counter.count('Hello, world!'); // 4
 * ```
 */
export function exactTokenCounter(options: ExactTokenCounterOptions = {}): ExactTokenCounter {
  const { encoding, model } = options ?? {};
  if (encoding !== undefined && model !== undefined) {
    throw new InvalidOptionError(
      'exactTokenCounter',
      'encoding',
      'left out when options.model is given',
      encoding,
    );
  }
  if (model !== undefined) return new TiktokenCounter(encodingForModel(model));
  if (encoding === undefined) return new TiktokenCounter(DEFAULT_TOKEN_ENCODING);
  if (!ENCODINGS.includes(encoding)) {
    throw new InvalidOptionError('exactTokenCounter', 'encoding', `one of ${ENCODINGS.join(', ')}`, encoding);
  }
  return new TiktokenCounter(encoding);
}
