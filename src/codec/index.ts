/**
 * The binary stream codec: transports that speak the SDK's newline-delimited JSON and,
 * between two peers that both offer it in their handshake, msgpackr frames.
 *
 * @module
 */

export {
  CODEC_CAPABILITY,
  CODEC_FORMAT,
  type CodecAcceptance,
  type CodecOffer,
} from './negotiation.js';
export {
  CODEC_DEFAULTS,
  CodecClientTransport,
  CodecError,
  type CodecServerParameters,
  CodecServerTransport,
  type CodecServerTransportOptions,
  type CodecStats,
  type CodecStreams,
  type CodecTransportOptions,
  HOP_MARK,
  isCodecError,
  SWITCH_BYTE,
} from './transport.js';
