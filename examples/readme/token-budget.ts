/** README: the token budget section. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { metrics, tokenBudget, withMiddleware } from 'mcp-perf';

// results over 10,000 tokens are cut at a safe boundary; the rest is served back as pages
const budget = tokenBudget({ maxTokens: 10_000, tools: { 'search_*': 4_000 } });
withMiddleware(server, [metrics({ tokens: budget.counter }), budget]);
