/**
 * `error` itself when it is an `Error`, else an `Error` whose message is its text,
 * prefixed with `context` and a colon when given (`store.get: boom`).
 */
export function asError(error: unknown, context?: string): Error {
  if (error instanceof Error) return error;
  return new Error(context === undefined ? String(error) : `${context}: ${String(error)}`);
}
