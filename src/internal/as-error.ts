/** `error` itself when it is an `Error`, else an `Error` whose message is its text. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
