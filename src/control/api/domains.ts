import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  AddDomainRequest,
  CertificateDto,
  DomainDto,
  type FieldProblem,
  HostnameInput,
  PutCertificateRequest,
} from '../../contracts/api.ts';
import { ApiError } from '../errors.ts';
import type { Domain, StoredCertificate } from '../state/index.ts';
import { iso, notFound, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { requireStore, StoreParams } from './stores.ts';

function domainDto(d: Domain): z.input<typeof DomainDto> {
  return { hostname: d.hostname, store: d.storeId, createdAt: iso(d.createdAt) };
}

// Built field by field so that the key PEM cannot reach a response or an audit event.
function certificateDto(c: StoredCertificate, store: string): z.input<typeof CertificateDto> {
  return { hostname: c.hostname, store, notAfter: iso(c.notAfter), updatedAt: iso(c.updatedAt) };
}

/**
 * Checks what zod cannot: the PEMs parse, the key belongs to the certificate, the certificate covers
 * the host name and has not expired. Answers TP_API_INVALID listing every problem, or the expiry.
 */
function checkCertificate(hostname: string, certPem: string, keyPem: string, now: number): number {
  const problems: FieldProblem[] = [];
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    problems.push({ path: 'body.certPem', message: `not a PEM certificate: ${(e as Error).message}` });
  }
  let key: ReturnType<typeof createPrivateKey> | undefined;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    problems.push({ path: 'body.keyPem', message: `not a PEM private key: ${(e as Error).message}` });
  }
  if (cert) {
    // checkHost matches a name against the certificate's names; a wildcard host name is not a name a
    // client asks for, so it must appear in the certificate as it is.
    const covers = hostname.startsWith('*.')
      ? (cert.subjectAltName ?? '').split(/,\s*/).includes(`DNS:${hostname}`)
      : cert.checkHost(hostname) !== undefined;
    if (!covers) {
      problems.push({
        path: 'body.certPem',
        message: `the certificate does not cover ${hostname} (it names ${cert.subjectAltName ?? cert.subject})`,
      });
    }
    if (Date.parse(cert.validTo) <= now) {
      problems.push({ path: 'body.certPem', message: `the certificate expired on ${cert.validTo}` });
    }
    if (key && !cert.checkPrivateKey(key)) {
      problems.push({ path: 'body.keyPem', message: 'the key does not belong to the certificate' });
    }
  }
  if (problems.length > 0 || !cert) {
    throw new ApiError(
      'TP_API_INVALID',
      `invalid request: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  return Date.parse(cert.validTo);
}

/** Domains of a store, and the TLS certificates of those domains. */
export function domains({ state }: ApiDeps): FastifyPluginAsync {
  const HostnameParams = z.strictObject({ hostname: HostnameInput });
  return routes([
    route({
      method: 'GET',
      url: '/api/stores/:store/domains',
      summary: 'Host names the store answers on',
      access: { store: 'viewer' },
      params: StoreParams,
      response: z.array(DomainDto),
      handle: async ({ params }) => {
        await requireStore(state, params.store);
        return (await state.domains.list(params.store)).map(domainDto);
      },
    }),
    route({
      method: 'POST',
      url: '/api/stores/:store/domains',
      summary: 'Attach a host name to the store (a host name belongs to one store)',
      access: { store: 'owner' },
      params: StoreParams,
      body: AddDomainRequest,
      response: DomainDto,
      status: 201,
      handle: async ({ params, body, mutate }) =>
        mutate(async (tx) => {
          await requireStore(tx, params.store);
          const dto = domainDto(await tx.domains.add(body.hostname, params.store));
          return {
            result: dto,
            audit: {
              action: 'domain.add',
              resourceType: 'domain',
              resourceId: dto.hostname,
              store: params.store,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'DELETE',
      url: '/api/stores/:store/domains/:hostname',
      summary: 'Detach a host name from the store, with its certificate',
      access: { store: 'owner' },
      params: StoreParams.extend({ hostname: HostnameInput }),
      handle: async ({ params, mutate }) =>
        mutate(async (tx) => {
          const domain = await tx.domains.lookup(params.hostname);
          // Another store's domain is reported missing, not forbidden: its owner is none of our business.
          if (!domain || domain.storeId !== params.store) {
            throw notFound(`domain ${params.hostname} of store ${JSON.stringify(params.store)}`, {
              hostname: params.hostname,
              store: params.store,
            });
          }
          // The key goes with the domain: whoever attaches the host name next must not inherit it.
          const cert = await tx.certificates.get(domain.hostname);
          if (cert) await tx.certificates.remove(domain.hostname);
          await tx.domains.remove(domain.hostname);
          return {
            result: undefined,
            audit: {
              action: 'domain.remove',
              resourceType: 'domain',
              resourceId: domain.hostname,
              store: params.store,
              before: { ...domainDto(domain), certificate: cert ? certificateDto(cert, params.store) : null },
            },
          };
        }),
    }),
    route({
      method: 'PUT',
      url: '/api/certificates/:hostname',
      summary: 'Put (or renew) the certificate and key of a host name; owners of the store it belongs to',
      access: {
        store: 'owner',
        from: async (request) => {
          const hostname = (request.params as { hostname: string }).hostname;
          return (await state.domains.lookup(hostname))?.storeId;
        },
      },
      params: HostnameParams,
      body: PutCertificateRequest,
      response: CertificateDto,
      handle: async ({ params, body, mutate }) =>
        mutate(async (tx) => {
          const domain = await tx.domains.lookup(params.hostname);
          if (!domain) throw notFound(`domain ${params.hostname}`, { hostname: params.hostname });
          const notAfter = checkCertificate(domain.hostname, body.certPem, body.keyPem, Date.now());
          const previous = await tx.certificates.get(domain.hostname);
          const saved = await tx.certificates.put({
            hostname: domain.hostname,
            certPem: body.certPem,
            keyPem: body.keyPem,
            notAfter,
          });
          const dto = certificateDto(saved, domain.storeId);
          return {
            result: dto,
            audit: {
              action: 'certificate.put',
              resourceType: 'certificate',
              resourceId: domain.hostname,
              store: domain.storeId,
              before: previous ? certificateDto(previous, domain.storeId) : null,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/certificates',
      summary: "Certificates of the store's domains (never their keys)",
      access: { store: 'viewer' },
      params: StoreParams,
      response: z.array(CertificateDto),
      handle: async ({ params }) => {
        await requireStore(state, params.store);
        const out: z.input<typeof CertificateDto>[] = [];
        for (const d of await state.domains.list(params.store)) {
          const cert = await state.certificates.get(d.hostname);
          if (cert) out.push(certificateDto(cert, params.store));
        }
        return out;
      },
    }),
  ]);
}
