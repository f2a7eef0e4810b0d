/** README: the metrics section. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { metrics, withMetrics } from 'mcp-perf';

const m = metrics({ tokens: 'approximate' });
withMetrics(server, m); // put it first (outermost) in a stack to see every request
m.snapshot(); // plain JSON: per-operation latency (p50…p99.9), outcomes, cache verdicts, tokens
m.report(); // a compact text table (the library never prints it)
