/**
 * Read-only annotations learned from the `tools/list` results the cache sees, per server
 * identity, for `readOnlyTools: true` (tools annotated `readOnlyHint: true` are cached).
 *
 * @module
 */

import type { JsonObject } from '../../core/types.js';

/** Servers whose annotations are remembered; the oldest is forgotten first. */
const ANNOTATED_SERVERS_MAX = 256;

/** Which tools of which server are annotated read-only. */
export class ReadOnlyAnnotations {
  private readonly servers = new Map<string, Map<string, boolean>>();

  /** Whether anything was learned about `upstream`. */
  has(upstream: string): boolean {
    return this.servers.has(upstream);
  }

  /** Whether `upstream` annotated tool `name` `readOnlyHint: true`. */
  isReadOnly(upstream: string, name: string): boolean {
    return this.servers.get(upstream)?.get(name) === true;
  }

  /** Learns from a `tools/list` result of `upstream`. */
  learn(upstream: string, result: JsonObject): void {
    const tools = result.tools;
    if (!Array.isArray(tools)) return;
    let known = this.servers.get(upstream);
    if (known === undefined) {
      if (this.servers.size >= ANNOTATED_SERVERS_MAX) {
        const oldest = this.servers.keys().next().value;
        if (oldest !== undefined) this.servers.delete(oldest);
      }
      known = new Map();
      this.servers.set(upstream, known);
    }
    for (const tool of tools as { name?: unknown; annotations?: { readOnlyHint?: unknown } }[]) {
      if (typeof tool?.name === 'string') known.set(tool.name, tool.annotations?.readOnlyHint === true);
    }
  }

  /** Forgets one server (its tool list changed). */
  forget(upstream: string): void {
    this.servers.delete(upstream);
  }

  /** Forgets every server. */
  clear(): void {
    this.servers.clear();
  }
}
