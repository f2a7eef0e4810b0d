import {
  eraOf,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  metaOf,
} from './messages.js';
import type { Era, JsonObject, PeerInfo, Reply, SessionInfo } from './types.js';

const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';

/** Session facts of one connection, learned from the traffic that crosses it. */
export class Session implements SessionInfo {
  protocolVersion: string | undefined = undefined;
  era: Era | undefined = undefined;
  clientInfo: PeerInfo | undefined = undefined;
  clientCapabilities: JsonObject | undefined = undefined;
  serverInfo: PeerInfo | undefined = undefined;
  serverCapabilities: JsonObject | undefined = undefined;

  constructor(private readonly readSessionId: () => string | undefined) {}

  get sessionId(): string | undefined {
    return this.readSessionId();
  }

  /** Records a protocol version (negotiated, set by the SDK, or announced per request). */
  setProtocolVersion(version: string): void {
    if (version === this.protocolVersion) return;
    this.protocolVersion = version;
    this.era = eraOf(version);
  }

  /** Learns from a request's `_meta` envelope (modern requests carry the version and client facts). */
  learnFromRequest(method: string, params: JsonObject | undefined): void {
    if (method === 'initialize' && params) {
      if (typeof params.protocolVersion === 'string' && this.era !== 'legacy') {
        this.setProtocolVersion(params.protocolVersion);
      }
      this.clientInfo = params.clientInfo as PeerInfo | undefined;
      this.clientCapabilities = params.capabilities as JsonObject | undefined;
      return;
    }
    const meta = metaOf(params);
    if (meta === undefined) return;
    const version = meta[META_PROTOCOL_VERSION];
    if (typeof version === 'string' && version !== this.protocolVersion) {
      this.setProtocolVersion(version);
      const caps = meta[META_CLIENT_CAPABILITIES];
      if (typeof caps === 'object' && caps !== null) this.clientCapabilities = caps as JsonObject;
      const info = meta[META_CLIENT_INFO];
      if (typeof info === 'object' && info !== null) this.clientInfo = info as PeerInfo;
    }
  }

  /** Learns from the answer to `initialize` or `server/discover`. */
  learnFromReply(method: string, reply: Reply): void {
    const result = reply.result;
    if (result === undefined) return;
    if (method === 'initialize') {
      if (typeof result.protocolVersion === 'string') this.setProtocolVersion(result.protocolVersion);
      this.serverInfo = result.serverInfo as PeerInfo | undefined;
      this.serverCapabilities = result.capabilities as JsonObject | undefined;
    } else if (method === 'server/discover') {
      this.serverCapabilities = result.capabilities as JsonObject | undefined;
      const info = metaOf(result)?.[META_SERVER_INFO] ?? result.serverInfo;
      if (typeof info === 'object' && info !== null) this.serverInfo = info as PeerInfo;
    }
  }
}
