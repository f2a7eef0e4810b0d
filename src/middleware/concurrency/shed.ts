// How a refusal (shed or rate-limited request) is answered when `shedAs` is `tool-result`.
// Shared by the concurrency and rate-limit middlewares; not exported from the package.

import type { JsonObject, Reply } from '../../core/types.js';

/** `_meta` key of a refusal's `data` in its tool-result form. */
export const RETRY_META_KEY = 'mcp-perf/retry';

/** The `CallToolResult` form of a refusal: `isError: true`, the message as text, the data in `_meta`. */
export function toolResultOf(error: { message: string; data: unknown }): Reply {
  const result: JsonObject = {
    content: [{ type: 'text', text: error.message }],
    isError: true,
    _meta: { [RETRY_META_KEY]: error.data },
  };
  return { result };
}
