/**
 * Tool search mode: the one small tool a caller sees instead of the whole list, and the
 * result a search answers with.
 *
 * @module
 */

import type { JsonObject } from '../../core/types.js';
import type { ToolDefinition } from './rules.js';

/** The definition of the search tool under `name`, returning at most `maxLimit` tools. */
export function searchToolDefinition(name: string, description: string, maxLimit: number): ToolDefinition {
  return {
    name,
    title: 'Search tools',
    description,
    inputSchema: {
      type: 'object',
      properties: {
        query: {
          type: 'string',
          description: 'What you want to do, in a few words (e.g. "create a calendar event").',
        },
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: maxLimit,
          description: `How many tools to return (default ${Math.min(5, maxLimit)}).`,
        },
      },
      required: ['query'],
    },
    outputSchema: {
      type: 'object',
      properties: {
        tools: {
          type: 'array',
          description:
            'Full definitions of the matching tools, best match first; each can be called at once.',
          items: { type: 'object' },
        },
      },
      required: ['tools'],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  };
}

/** The default description of the search tool. */
export const SEARCH_TOOL_DESCRIPTION =
  'Find the tools available for a task. Only a few tools are listed up front; call this with a short ' +
  'description of what you want to do and it returns the full definitions (name, description, input ' +
  'schema) of the best-matching tools, which you can then call directly by name.';

/** The `tools/call` result of a search: the definitions as JSON text and as structured content. */
export function searchResult(tools: readonly ToolDefinition[]): JsonObject {
  const structuredContent = { tools };
  return {
    content: [{ type: 'text', text: JSON.stringify(structuredContent) }],
    structuredContent,
  };
}

/** The `isError` result for a search called with bad arguments. */
export function searchArgumentError(name: string, detail: string): JsonObject {
  return { content: [{ type: 'text', text: `${name}: ${detail}` }], isError: true };
}
