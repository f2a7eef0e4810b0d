/** Does nothing: a callback for a promise whose outcome is deliberately ignored, or a placeholder. */
export function noop(): void {}
