/** README: the tool filter section. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { toolFilter, withToolFilter } from 'mcp-perf';

const filter = toolFilter({
  rules: { deny: ['admin_*', /^debug_/], annotations: { destructiveHint: false } },
  mode: 'search', // list one small search_tools tool; the model looks the rest up when it needs them
});
withToolFilter(server, filter);
filter.stats(); // tools listed vs available, definition tokens saved, hidden calls refused, searches
