/**
 * Load-generator targets: a server started as a child process and spoken to over
 * stdio, a Streamable HTTP URL (loopback only unless explicitly allowed), or an
 * already connected SDK client.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InvalidOptionError } from '../errors/index.js';

/** A server command: a command line (split on spaces, quotes respected) or its parts. */
export type StdioCommand =
  | string
  | {
      /** The executable. */
      command: string;
      /** Its arguments. */
      args?: string[];
      /** Its environment. Default: this process's. */
      env?: Record<string, string>;
      /** Its working directory. */
      cwd?: string;
    };

/** What to drive. */
export type LoadTarget =
  | {
      /** Spawn this command and speak MCP over its stdin/stdout. */
      stdio: StdioCommand;
    }
  | {
      /** A Streamable HTTP endpoint, e.g. `http://127.0.0.1:3000/mcp`. */
      url: string;
    }
  | {
      /** An already connected client; `runLoad` neither connects nor closes it. */
      client: Client;
      /** The name reports use. */
      label?: string;
    };

/**
 * Splits a command line into words: whitespace separates, single and double quotes
 * group, a backslash escapes the next character. No variable or glob expansion.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined)
    throw new InvalidOptionError('runLoad', 'target.stdio', 'a command line with balanced quotes', line);
  if (inWord) words.push(word);
  return words;
}

/** True for `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** A human-readable name of the target, for reports. */
export function describeTarget(target: LoadTarget): string {
  if ('url' in target) return target.url;
  if ('client' in target) return target.label ?? 'connected client';
  return typeof target.stdio === 'string'
    ? `stdio: ${target.stdio}`
    : `stdio: ${[target.stdio.command, ...(target.stdio.args ?? [])].join(' ')}`;
}

/**
 * Checks a target before anything is started: a URL must be http(s) and, unless
 * `allowRemote`, on a loopback address; a command must not be empty.
 */
export function validateTarget(target: LoadTarget, allowRemote: boolean): void {
  if (typeof target !== 'object' || target === null) {
    throw new InvalidOptionError('runLoad', 'target', '{ stdio } or { url } or { client }', target);
  }
  if ('url' in target) {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new InvalidOptionError('runLoad', 'target.url', 'an absolute http(s) URL', target.url);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidOptionError('runLoad', 'target.url', 'an http: or https: URL', target.url);
    }
    if (!allowRemote && !isLoopbackHost(url.hostname)) {
      throw new InvalidOptionError(
        'runLoad',
        'target.url',
        'a loopback address (127.0.0.1, ::1, localhost) unless allowRemote is set',
        target.url,
      );
    }
  } else if ('stdio' in target) {
    const words = typeof target.stdio === 'string' ? splitCommand(target.stdio) : [target.stdio.command];
    if (words.length === 0 || words[0] === '') {
      throw new InvalidOptionError('runLoad', 'target.stdio', 'a non-empty command', target.stdio);
    }
  } else if (!('client' in target) || !(target.client instanceof Client)) {
    throw new InvalidOptionError('runLoad', 'target', '{ stdio } or { url } or { client }', target);
  }
}

/** A client connected to a target, and whether `runLoad` owns (must close) it. */
export interface OpenTarget {
  /** The connected client. */
  client: Client;
  /** True when the client was opened here and must be closed. */
  owned: boolean;
}

/**
 * This process's environment, for a server the load generator starts. The SDK's default
 * passes a child only a short list of variables, fit for a client starting servers it
 * does not trust; a load test starts the user's own server, as a shell would.
 */
function inheritedEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return env;
}

/**
 * A stdio client transport for a server command: the child gets this process's
 * environment (unless the command sets its own) and passes its stderr through.
 */
export function stdioTransport(stdio: StdioCommand): StdioClientTransport {
  const spec =
    typeof stdio === 'string'
      ? (() => {
          const [command, ...args] = splitCommand(stdio);
          return { command: command!, args };
        })()
      : stdio;
  return new StdioClientTransport({ env: inheritedEnvironment(), ...spec, stderr: 'inherit' });
}

/** Connects to a validated target: a child process gets this process's environment and passes its stderr through. */
export async function openTarget(target: LoadTarget): Promise<OpenTarget> {
  if ('client' in target) return { client: target.client, owned: false };
  const client = new Client({ name: 'mcp-perf-load', version: '1.0.0' });
  if ('url' in target) {
    await client.connect(new StreamableHTTPClientTransport(new URL(target.url)));
  } else {
    await client.connect(stdioTransport(target.stdio));
  }
  return { client, owned: true };
}
