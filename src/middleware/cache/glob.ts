/**
 * The glob helpers, shared with the token budget; they live in `src/internal/glob.ts`.
 *
 * @module
 */
export { compileGlobs, globSource, isGlob } from '../../internal/glob.js';
