/** README: writing your own middleware, and giving it a withX helper. */
import { exampleServer } from './server.js';

const server = exampleServer();

import { brandMiddleware, defineWith, type MiddlewareObject, type WithHelper } from 'mcp-perf';

interface StampOptions {
  /** The text added to every tool result. */
  text?: string;
}
interface Stamp extends MiddlewareObject {
  stats(): { stamped: number };
}

function stamp(options: StampOptions = {}): Stamp {
  const text = options.text ?? 'served by mcp-perf';
  let stamped = 0;
  const middleware: Stamp = {
    name: 'stamp',
    async request(ctx, next) {
      const reply = await next(); // call next() at most once; skip it to answer locally
      if (ctx.method !== 'tools/call' || reply.result === undefined) return reply;
      stamped++;
      const content = (reply.result.content as unknown[] | undefined) ?? [];
      return { result: { ...reply.result, content: [...content, { type: 'text', text }] } };
    },
    stats: () => ({ stamped }),
  };
  return brandMiddleware(middleware, 'stamp');
}

/** `withStamp(target, optionsOrInstance)` returns the target, like every withX helper. */
const withStamp: WithHelper<StampOptions, Stamp> = defineWith('stamp', stamp);
withStamp(server, { text: 'cached at the edge' });
