import type { Transform } from 'node:stream';
import { constants, createBrotliDecompress, createInflate, createInflateRaw, createUnzip } from 'node:zlib';

/** What phase 4 reads of a response body. */
export interface InspectedBody {
  /** The body's first bytes as the client's browser will read them (decompressed), Latin-1. */
  readonly text: string;
  /** There was more than `text`: the body went on past the limit, or only its start was read. */
  readonly partial: boolean;
}

/**
 * The part of a response body phase 4 inspects: its first `limit` bytes, decompressed when the
 * store compressed it (gzip, deflate, br: Magento's nginx gzips every HTML page, and a compressed
 * body would show the rules nothing). `head` is the start of the body as it arrived, `complete` when
 * it is all of it. Decompression runs on libuv's pool and stops at `limit` bytes out, so a
 * compression bomb costs no more than a plain body. Other codings are inspected as they are, which
 * is what ModSecurity does with every coding.
 */
export async function inspectedBody(
  head: Buffer,
  complete: boolean,
  contentEncoding: string | undefined,
  limit: number,
): Promise<InspectedBody> {
  const decoder = decoderFor(contentEncoding, head);
  if (decoder === undefined) {
    return { text: head.subarray(0, limit).toString('latin1'), partial: !complete || head.length > limit };
  }
  const out = await decompress(decoder, head, limit);
  return { text: out.subarray(0, limit).toString('latin1'), partial: out.length > limit || !complete };
}

function decoderFor(contentEncoding: string | undefined, head: Buffer): Transform | undefined {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  // A partial stream is decoded as far as it goes: sync flush instead of an "unexpected end" error.
  const zlib = { finishFlush: constants.Z_SYNC_FLUSH };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createUnzip(zlib);
    case 'deflate':
      // RFC 9110 means zlib-wrapped deflate; some servers send it raw. A zlib header is CM=8 and
      // a multiple of 31.
      return head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0
        ? createInflate(zlib)
        : createInflateRaw(zlib);
    case 'br':
      return createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH });
    default:
      return undefined;
  }
}

/**
 * Feeds `input` through `decoder`, keeping at most `limit` bytes of output (and the chunk that went
 * past it). A corrupt stream yields what decoded before the damage.
 */
async function decompress(decoder: Transform, input: Buffer, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) => {
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > limit) {
        decoder.off('data', onData);
        decoder.destroy();
        resolve();
      }
    };
    decoder.on('data', onData);
    decoder.once('end', resolve);
    decoder.once('error', () => resolve());
    decoder.once('close', resolve);
    decoder.end(input);
  });
  if (!decoder.destroyed) decoder.destroy();
  return Buffer.concat(chunks, size);
}
