import type { IncomingMessage } from 'node:http';

/**
 * Framing checks Node's parser leaves to the application: it hands over a request with an unknown
 * Transfer-Encoding before failing on its body, which a proxy must not forward (request smuggling).
 * Returns why the request is refused, or undefined when it is fine.
 */
export function framingProblem(
  req: IncomingMessage,
  maxHeaders: number,
): { status: 400 | 431; code: string } | undefined {
  const raw = req.rawHeaders;
  if (raw.length / 2 > maxHeaders) return { status: 431, code: 'TOO_MANY_HEADERS' };
  let hosts = 0;
  let te: string | undefined;
  let cl = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'host') hosts++;
    else if (name === 'transfer-encoding') te = te === undefined ? raw[i + 1]! : `${te},${raw[i + 1]}`;
    else if (name === 'content-length') cl = true;
  }
  if (hosts !== 1 && req.httpVersion === '1.1') return { status: 400, code: 'BAD_HOST' };
  if (te !== undefined) {
    if (cl) return { status: 400, code: 'CL_AND_TE' };
    // Only plain "chunked" is accepted: anything else makes the body length ambiguous between hops.
    if (te.trim().toLowerCase() !== 'chunked') return { status: 400, code: 'BAD_TRANSFER_ENCODING' };
  }
  return undefined;
}
