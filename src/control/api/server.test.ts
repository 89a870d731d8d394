import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { StateError } from '../state/index.ts';
import { type Answerer, answerHere, answerInProcess, codedAnswer, routeKey } from './answer.ts';
import { type BudgetClock, ReadBudget } from './read-budget.ts';
import { type RouteContext, route, routes } from './route.ts';
import { apiFixture } from './testing.ts';

/** `METHOD /path` of every route fastify holds, read from its route tree. */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    stack.length = m[1]!.length / 4;
    stack.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) out.push(`${method} ${stack.join('')}`);
  }
  return out.sort();
}

// An outside plugin as the fleet would write one: a typed route and a raw fastify route.
const outside: FastifyPluginAsync = async (app) => {
  await app.register(
    routes([
      route({
        method: 'POST',
        url: '/api/things/:id',
        summary: 'A thing',
        access: 'admin',
        params: z.strictObject({ id: z.string() }),
        body: z.strictObject({ size: z.int() }),
        response: z.object({ id: z.string(), size: z.int() }),
        handle: async ({ params, body, mutate }) =>
          mutate(async () => ({
            result: { id: params.id, size: body.size },
            audit: { action: 'thing.put', resourceType: 'thing', resourceId: params.id, store: null },
          })),
      }),
    ]),
  );
  app.get('/api/raw/:node', { config: { access: 'public', summary: 'Raw' } }, async () => ({ raw: true }));
};

test('the OpenAPI document lists every registered route, outside plugins included', async (t) => {
  const fx = await apiFixture(t, { plugins: [outside] });
  const doc = (await fx.call(null, 'GET', '/api/openapi.json')).json() as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    .sort();
  const registered = registeredRoutes(fx.app.printRoutes({ commonPrefix: false }));
  assert.ok(registered.length >= 30, `${registered.length} routes read from the route tree`);
  assert.deepEqual(documented, registered);

  const apply = doc.paths['/api/stores/{store}/stacks']!.post!;
  assert.equal(apply['x-triplane-access'], 'store:developer');
  assert.deepEqual(apply.security, [{ bearerAuth: [] }]);
  assert.equal(typeof apply.summary, 'string');
  const body = (apply.requestBody as { content: Record<string, { schema: { required: string[] } }> }).content[
    'application/json'
  ]!.schema;
  assert.deepEqual(body.required, ['spec', 'sourceDir']);
  assert.ok((apply.responses as Record<string, unknown>)['201']);
  assert.deepEqual(doc.paths['/api/health']!.get!.security, []);
  const raw = doc.paths['/api/raw/{node}']!.get!;
  assert.equal(raw.summary, 'Raw');
  assert.deepEqual(raw.parameters, [
    { name: 'node', in: 'path', required: true, schema: { type: 'string' } },
  ]);
});

test('fails an unknown route with 404 and a coded body, without asking for a token', async (t) => {
  const fx = await apiFixture(t);
  const res = await fx.call(null, 'GET', '/api/nothing/here');
  assert.equal(res.statusCode, 404);
  assert.deepEqual(res.json(), {
    code: 'TP_API_NOT_FOUND',
    message: 'no route GET /api/nothing/here',
    details: { method: 'GET', url: '/api/nothing/here' },
  });
});

test('fails unparseable JSON and over-long URL parameters with 400 TP_API_INVALID', async (t) => {
  const fx = await apiFixture(t);
  const bad = await fx.app.inject({
    method: 'POST',
    url: '/api/users',
    headers: { authorization: `Bearer ${fx.tokens.root}`, 'content-type': 'application/json' },
    payload: '{"name": ',
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'TP_API_INVALID');
  assert.equal(bad.json().details.cause, 'FST_ERR_CTP_INVALID_JSON_BODY');
  const long = await fx.call('root', 'GET', `/api/stores/${'a'.repeat(200)}`);
  assert.equal(long.statusCode, 400);
  assert.equal(long.json().code, 'TP_API_INVALID');
});

test('fails an unknown or revoked token with 401 and a Bearer challenge', async (t) => {
  const fx = await apiFixture(t);
  const unknown = await fx.app.inject({ url: '/api/whoami', headers: { authorization: 'Bearer tp_nope' } });
  assert.equal(unknown.statusCode, 401);
  assert.equal(unknown.headers['www-authenticate'], 'Bearer');
  assert.equal(unknown.json().code, 'TP_API_UNAUTHENTICATED');
  const basic = await fx.app.inject({ url: '/api/whoami', headers: { authorization: 'Basic cm9vdDpyb290' } });
  assert.equal(basic.statusCode, 401);

  const viewer = await fx.state.users.byName('viewer');
  const [token] = await fx.state.users.listTokens(viewer!.id);
  await fx.state.users.revokeToken(token!.id);
  assert.equal((await fx.call('viewer', 'GET', '/api/whoami')).statusCode, 401);
});

test('answers state errors with their status and code', async (t) => {
  const fx = await apiFixture(t);
  const res = await fx.call('root', 'POST', '/api/users', { name: 'viewer' });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().code, 'STATE_CONFLICT');
  assert.equal(res.json().details.name, 'viewer');
});

test('outside plugins get the same error handling; unexpected errors are 500 without their message', async (t) => {
  const failing: FastifyPluginAsync = async (app) => {
    const config = { access: 'public' as const, summary: 'fails' };
    app.get('/api/fail/plain', { config }, async () => {
      throw new Error('secret detail');
    });
    app.get('/api/fail/state', { config }, async () => {
      throw new StateError('STATE_UNAVAILABLE', 'database is down');
    });
    app.get('/api/fail/api', { config }, async () => {
      throw new ApiError('TP_API_CONFLICT', 'busy', { x: 1 });
    });
  };
  const fx = await apiFixture(t, { plugins: [failing] });
  const plain = await fx.call(null, 'GET', '/api/fail/plain');
  assert.equal(plain.statusCode, 500);
  assert.equal(plain.json().code, 'TP_API_INTERNAL');
  assert.doesNotMatch(plain.body, /secret detail/);
  assert.equal(typeof plain.json().details.requestId, 'string');
  const state = await fx.call(null, 'GET', '/api/fail/state');
  assert.deepEqual([state.statusCode, state.json().code], [503, 'STATE_UNAVAILABLE']);
  const api = await fx.call(null, 'GET', '/api/fail/api');
  assert.deepEqual(
    [api.statusCode, api.json()],
    [409, { code: 'TP_API_CONFLICT', message: 'busy', details: { x: 1 } }],
  );
});

test('an outside typed route parses its input and audits its change', async (t) => {
  const fx = await apiFixture(t, { plugins: [outside] });
  const bad = await fx.call('root', 'POST', '/api/things/a', { size: 'big', colour: 'red' });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(
    bad.json().details.problems.map((p: { path: string }) => p.path),
    ['body.size', 'body'],
  );
  assert.equal((await fx.call('owner', 'POST', '/api/things/a', { size: 1 })).statusCode, 403);
  const before = await fx.auditCount();
  const ok = await fx.call('root', 'POST', '/api/things/a', { size: 1 });
  assert.deepEqual([ok.statusCode, ok.json()], [200, { id: 'a', size: 1 }]);
  assert.equal(await fx.auditCount(), before + 1);
});

test('fails to start when a route declares no access', async (t) => {
  const undeclared: FastifyPluginAsync = async (app) => {
    app.get('/api/open', async () => ({}));
  };
  await assert.rejects(apiFixture(t, { plugins: [undeclared] }), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.match(e.message, /GET \/api\/open declares no config\.access/);
    return true;
  });
});

test('fails a mutation that writes no audit event with 500', async (t) => {
  const forgetful: FastifyPluginAsync = async (app) => {
    app.post('/api/forgetful', { config: { access: 'user' } }, async () => ({ done: true }));
  };
  const fx = await apiFixture(t, { plugins: [forgetful] });
  const res = await fx.call('viewer', 'POST', '/api/forgetful', {});
  assert.equal(res.statusCode, 500);
  assert.equal(res.json().code, 'TP_API_INTERNAL');
});

test('a change and its audit event commit together or not at all', async (t) => {
  const failing: FastifyPluginAsync = async (app) => {
    app.post('/api/half', { config: { access: 'admin' } }, async (request) =>
      request.mutate(async (tx) => {
        await tx.users.create({ name: 'half' });
        throw new ApiError('TP_API_CONFLICT', 'changed my mind');
      }),
    );
    app.post('/api/twice', { config: { access: 'admin' } }, async (request) => {
      const change = async () => ({
        result: null,
        audit: { action: 'x.y', resourceType: 'x', resourceId: 'x', store: null },
      });
      await request.mutate(change);
      return request.mutate(change);
    });
  };
  const fx = await apiFixture(t, { plugins: [failing] });
  const before = await fx.auditCount();
  const res = await fx.call('root', 'POST', '/api/half', {});
  assert.equal(res.statusCode, 409);
  assert.equal(await fx.state.users.byName('half'), null);
  assert.equal(await fx.auditCount(), before);

  const twice = await fx.call('root', 'POST', '/api/twice', {});
  assert.equal(twice.statusCode, 500);
  assert.equal(await fx.auditCount(), before + 1, 'the second change was refused before it ran');
});

test('analytics reads wait in the read budget: a full line answers 429 TP_API_BUSY, other routes go on', async (t) => {
  // GIVEN a budget of 1 % of a core and a line of one, on a clock that moves 1 ms per look and
  // whose timers fire only when the test says
  let now = 0;
  let due: (() => void) | undefined;
  const clock: BudgetClock = {
    now: () => ++now,
    after: (_ms, fn) => {
      due = fn;
      return () => {
        due = undefined;
      };
    },
  };
  const fx = await apiFixture(t, { readBudget: new ReadBudget({ share: 0.01, queue: 1 }, clock) });
  // WHEN a first read is answered, a second waits out the rest that follows it, and a third comes
  const first = await fx.call('viewer', 'GET', '/api/stores/demo/events?limit=5');
  assert.equal(first.statusCode, 200, first.body);
  assert.match(first.headers['content-type'] as string, /^application\/json/);
  assert.deepEqual(first.json(), []);
  const second = fx.call('viewer', 'GET', '/api/stores/demo/events');
  while (!due) await new Promise((r) => setImmediate(r));
  const third = await fx.call('owner', 'GET', '/api/audit?store=demo');
  // THEN the third is refused with a wait to retry after, a non-analytics route still answers, and the
  // second is answered when its turn comes
  assert.equal(third.statusCode, 429, third.body);
  assert.equal(third.json().code, 'TP_API_BUSY');
  assert.equal(third.headers['retry-after'], String(third.json().details.retryAfterSeconds));
  assert.equal((await fx.call('viewer', 'GET', '/api/stores/demo')).statusCode, 200);
  now = 1000;
  due();
  assert.equal((await second).statusCode, 200);
});

test('fails to start when an analytics read has no response schema', async (t) => {
  const bad = routes([
    route({
      method: 'GET',
      url: '/api/rows',
      summary: 'rows',
      access: 'user',
      analytics: true,
      handle: async () => {},
    }),
  ]);
  await assert.rejects(
    apiFixture(t, { plugins: [bad] }),
    /GET \/api\/rows: an analytics read needs a response schema/,
  );
});

test('fails to start when its answerer does not know an analytics read', async (t) => {
  const stranger: Answerer = {
    knows: (r) => r.url !== '/api/audit',
    answer: (r, input) => answerInProcess.answer(r, input),
  };
  await assert.rejects(
    apiFixture(t, { answerer: stranger }),
    /GET \/api\/audit: the analytics reader does not know this route/,
  );
});

test("an analytics read is the answerer's: its status and text go to the client as they are, input checked first", async (t) => {
  // GIVEN an answerer that records what it is asked and answers as a reader that has gone would
  const asked: string[] = [];
  const gone: Answerer = {
    knows: () => true,
    answer: async (r, input) => {
      asked.push(`${routeKey(r)} ${JSON.stringify(input)}`);
      const e = new ApiError('TP_API_UNAVAILABLE', 'the analytics reader exited', { retryAfterSeconds: 2 });
      return { status: e.status, body: JSON.stringify(e.body()) };
    },
  };
  const fx = await apiFixture(t, { answerer: gone });
  // WHEN a read is asked for, and one with a bad limit
  const res = await fx.call('viewer', 'GET', '/api/stores/demo/events?limit=5');
  const bad = await fx.call('viewer', 'GET', '/api/stores/demo/events?limit=0');
  // THEN the first gets the answerer's status and body with the raw input; the bad one never reaches it
  assert.equal(res.statusCode, 503);
  assert.deepEqual(res.json(), {
    code: 'TP_API_UNAVAILABLE',
    message: 'the analytics reader exited',
    details: { retryAfterSeconds: 2 },
  });
  assert.deepEqual(asked, [
    'GET /api/stores/:store/events {"params":{"store":"demo"},"query":{"limit":"5"}}',
  ]);
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().details.problems[0].path, 'query.limit');
});

test('an analytics handler sees its params and query only: reaching for the caller fails, as it would in the reader', async () => {
  const peek = route({
    method: 'GET',
    url: '/api/stores/:store/peek',
    summary: 'peek',
    access: { store: 'viewer' },
    params: z.strictObject({ store: z.string() }),
    query: z.strictObject({ n: z.coerce.number().default(1) }),
    response: z.array(z.unknown()),
    analytics: true,
    handle: async ({ params, query }) => [params.store, query.n],
  });
  assert.equal(await answerHere(peek, { params: { store: 'demo' }, query: {} }), '["demo",1]');
  const nosy = {
    ...peek,
    handle: async (ctx: RouteContext<unknown, unknown, unknown>) => [ctx.caller.user.name],
  };
  await assert.rejects(answerHere(nosy, { params: { store: 'demo' }, query: {} }), {
    code: 'TP_API_INTERNAL',
    message: /an analytics read has no caller/,
  });
  await assert.rejects(answerHere(peek, { params: { store: 'demo' }, query: { n: 'x' } }), {
    code: 'TP_API_INVALID',
  });
});

test('coded errors become the answer a client gets; others are not answered here', () => {
  const api = codedAnswer(new ApiError('TP_API_NOT_FOUND', 'store "x" does not exist', { store: 'x' }));
  assert.deepEqual(api, {
    status: 404,
    body: JSON.stringify({
      code: 'TP_API_NOT_FOUND',
      message: 'store "x" does not exist',
      details: { store: 'x' },
    }),
  });
  const state = codedAnswer(new StateError('STATE_UNAVAILABLE', 'database is locked', { table: 'events' }));
  assert.equal(state?.status, 503);
  assert.equal(JSON.parse(String(state?.body)).code, 'STATE_UNAVAILABLE');
  assert.equal(codedAnswer(new Error('x')), null);
});
