/** Bytes before and after encoding for one content type and coding. */
export interface EncodingFigures {
  /** Bodies counted. */
  count: number;
  /** Bytes before compression. */
  bytesIn: number;
  /** Bytes on the wire. */
  bytesOut: number;
  /** `bytesOut / bytesIn` (1 when nothing was counted). */
  ratio: number;
}

/** What an HTTP encoding layer has done. */
export interface EncodingStats {
  /** Compressed responses by `content-type/coding`, e.g. `application/json/br`. */
  responses: Record<string, EncodingFigures>;
  /** Compressed request bodies decoded (server) or sent (client). */
  requests: EncodingFigures;
}

function figures(): EncodingFigures {
  return { count: 0, bytesIn: 0, bytesOut: 0, ratio: 1 };
}

function add(f: EncodingFigures, plain: number, wire: number): void {
  f.count++;
  f.bytesIn += plain;
  f.bytesOut += Number.isFinite(wire) ? wire : 0;
  f.ratio = f.bytesIn === 0 ? 1 : f.bytesOut / f.bytesIn;
}

/** Counters behind {@link EncodingStats}. */
export class EncodingTally {
  private readonly responses = new Map<string, EncodingFigures>();
  private readonly requests = figures();

  /** A response body of `plain` bytes went out as `wire` bytes. */
  response(type: string, encoding: string, plain: number, wire: number): void {
    const key = `${type}/${encoding}`;
    let f = this.responses.get(key);
    if (f === undefined) {
      f = figures();
      this.responses.set(key, f);
    }
    add(f, plain, wire);
  }

  /** A request body of `plain` bytes crossed the wire as `wire` bytes. */
  requestDecoded(plain: number, wire: number): void {
    add(this.requests, plain, wire);
  }

  /** A copy of the counters. */
  snapshot(): EncodingStats {
    const responses: Record<string, EncodingFigures> = {};
    for (const [k, v] of this.responses) responses[k] = { ...v };
    return { responses, requests: { ...this.requests } };
  }
}
