/**
 * What the model sees: the text of MCP messages that a host puts in front of a language
 * model, and its token count.
 *
 * Every function here accepts any value and never throws: a missing or oddly typed
 * field contributes nothing, and the rest is still counted.
 *
 * @module
 */

import { countTokensBounded } from './bounded.js';
import type { TokenCounter } from './types.js';

type Visit = (text: string) => void;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function json(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    // Circular structures and BigInts cannot reach a model as JSON; they count as nothing.
    return '';
  }
}

function visitString(value: unknown, visit: Visit): void {
  if (typeof value === 'string' && value.length > 0) visit(value);
}

function visitBlock(block: unknown, visit: Visit): void {
  if (!isObject(block)) return;
  switch (block.type) {
    case 'image':
    case 'audio':
      return;
    case 'resource': {
      const resource = block.resource;
      if (isObject(resource)) visitString(resource.text, visit);
      return;
    }
    case 'resource_link':
      visitString(block.name, visit);
      visitString(block.title, visit);
      visitString(block.uri, visit);
      visitString(block.description, visit);
      return;
    default:
      visitString(block.text, visit);
  }
}

function visitBlocks(content: unknown, visit: Visit): void {
  if (Array.isArray(content)) {
    for (const block of content) visitBlock(block, visit);
  } else {
    visitBlock(content, visit);
  }
}

function visitMessages(messages: unknown, visit: Visit): void {
  if (!Array.isArray(messages)) return;
  for (const message of messages) {
    if (isObject(message)) visitBlocks(message.content, visit);
  }
}

function visitTool(tool: unknown, visit: Visit): void {
  if (!isObject(tool)) return;
  visitString(tool.name, visit);
  visitString(tool.description, visit);
  visitString(json(tool.inputSchema), visit);
  visitString(json(tool.outputSchema), visit);
}

function visitResult(method: string, result: unknown, visit: Visit): void {
  if (!isObject(result)) return;
  switch (method) {
    case 'tools/call':
      visitBlocks(result.content, visit);
      visitString(json(result.structuredContent), visit);
      return;
    case 'tools/list':
      if (Array.isArray(result.tools)) for (const tool of result.tools) visitTool(tool, visit);
      return;
    case 'resources/read':
      if (Array.isArray(result.contents)) {
        for (const contents of result.contents) if (isObject(contents)) visitString(contents.text, visit);
      }
      return;
    case 'prompts/get':
      visitMessages(result.messages, visit);
      return;
    case 'sampling/createMessage':
      visitBlocks(result.content, visit);
      return;
  }
}

function visitRequest(method: string, params: unknown, visit: Visit): void {
  if (!isObject(params)) return;
  switch (method) {
    case 'tools/call':
      visitString(params.name, visit);
      visitString(json(params.arguments), visit);
      return;
    case 'sampling/createMessage':
      visitString(params.systemPrompt, visit);
      visitMessages(params.messages, visit);
      return;
  }
}

/**
 * The model-visible pieces of text in the `result` of an MCP request, in order:
 *
 * - `tools/call`: each content block's `text`; an embedded resource's `resource.text`;
 *   a resource link's `name`, `title`, `uri` and `description`; then `structuredContent`
 *   as compact JSON. Hosts differ in whether they forward the content blocks, the
 *   structured content or both; both are included.
 * - `tools/list`: per tool, `name`, `description`, and `inputSchema` / `outputSchema`
 *   as compact JSON (what a host turns into the model's tool definitions).
 * - `resources/read`: each entry of `contents` that has `text`.
 * - `prompts/get`: the text of each message's content (descriptions are for users).
 * - `sampling/createMessage`: the text of the generated content.
 *
 * Image and audio blocks and binary (`blob`) resources contribute nothing: their cost
 * depends on the model's own media tokenization, which text counting cannot know. Any
 * other method yields no text. Empty strings are left out.
 *
 * @param method - the request's method, e.g. `tools/call`
 * @param result - the response's `result`; any value is accepted
 * @example
 * ```ts
 * visibleResultText('tools/call', { content: [{ type: 'text', text: 'Sunny, 21°C' }] });
 * // ['Sunny, 21°C']
 * ```
 */
export function visibleResultText(method: string, result: unknown): string[] {
  const texts: string[] = [];
  visitResult(method, result, (text) => texts.push(text));
  return texts;
}

/**
 * The tokens of the model-visible text of a result (the pieces listed at
 * {@link visibleResultText}, each counted separately and summed). Counting is bounded:
 * with an exact counter, a piece longer than `BOUNDED_COUNT_DEFAULTS.maxSyncChars` is
 * estimated rather than counted, so one huge result never stalls the event loop.
 *
 * @param method - the request's method, e.g. `tools/call`
 * @param result - the response's `result`; any value is accepted
 * @param counter - the counter to count with
 * @example
 * ```ts
 * const tokens = countResultTokens('tools/call', reply.result, approximateTokenCounter());
 * ```
 */
export function countResultTokens(method: string, result: unknown, counter: TokenCounter): number {
  let total = 0;
  visitResult(method, result, (text) => {
    total += countTokensBounded(text, counter);
  });
  return total;
}

/**
 * The model-written or model-read text of a request's `params`: for `tools/call` the
 * tool's `name` and its `arguments` as compact JSON (what the model produced); for
 * `sampling/createMessage` the `systemPrompt` and the text of each message. Any other
 * method yields no text.
 *
 * @param method - the request's method
 * @param params - the request's `params`; any value is accepted
 * @example
 * ```ts
 * visibleRequestText('tools/call', { name: 'weather', arguments: { city: 'Oslo' } });
 * // ['weather', '{"city":"Oslo"}']
 * ```
 */
export function visibleRequestText(method: string, params: unknown): string[] {
  const texts: string[] = [];
  visitRequest(method, params, (text) => texts.push(text));
  return texts;
}

/**
 * The tokens of the model-visible text of a request's `params` (the pieces listed at
 * {@link visibleRequestText}, each counted separately and summed).
 *
 * @param method - the request's method
 * @param params - the request's `params`; any value is accepted
 * @param counter - the counter to count with
 */
export function countRequestTokens(method: string, params: unknown, counter: TokenCounter): number {
  let total = 0;
  visitRequest(method, params, (text) => {
    total += countTokensBounded(text, counter);
  });
  return total;
}

/**
 * The tokens one tool definition (an entry of a `tools/list` result) costs in the
 * model's context: its `name`, `description`, and `inputSchema` / `outputSchema` as
 * compact JSON. A tool filter can rank or drop tools by this cost.
 *
 * @param tool - a tool definition; any value is accepted
 * @param counter - the counter to count with
 * @example
 * ```ts
 * const cost = countToolTokens({ name: 'echo', inputSchema: { type: 'object' } }, counter);
 * ```
 */
export function countToolTokens(tool: unknown, counter: TokenCounter): number {
  let total = 0;
  visitTool(tool, (text) => {
    total += countTokensBounded(text, counter);
  });
  return total;
}
