import { describe, it } from 'node:test';
import { connectPair } from '../helpers/servers.js';
import { runScenario, scenarioStack } from '../helpers/stacks.js';

describe('SDK v1 in-memory linked pair', () => {
  it('runs a stack on the server side', async () => {
    const log: string[] = [];
    const pair = await connectPair({ server: scenarioStack(log) });
    try {
      await runScenario({
        client: pair.client,
        readCounts: async () => pair.counts,
        readLog: async () => log,
      });
    } finally {
      await pair.close();
    }
  });

  it('runs a stack on the client side', async () => {
    const log: string[] = [];
    const pair = await connectPair({ client: scenarioStack(log) });
    try {
      await runScenario({
        client: pair.client,
        readCounts: async () => pair.counts,
        readLog: async () => log,
      });
    } finally {
      await pair.close();
    }
  });
});
