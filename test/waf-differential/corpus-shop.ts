/**
 * Benign shop traffic of the corpus, built from the lists in corpus-payloads.ts and corpus-benign.ts:
 * customer-typed values through the places a Magento shop receives text, and whole Magento requests.
 */
import { ADDRESSES, GRAPHQL_OPERATIONS, LOGINS, REST_CALLS, STOREFRONT_PATHS } from './corpus-benign.ts';
import {
  BEARER,
  type CorpusRequest,
  cartItemWithOption,
  enc,
  FORM_KEY,
  FORM_TYPE,
  form,
  json,
  MULTIPART_TYPE,
  multipart,
  PAGE,
  type Placement,
  pad,
  SESSION_COOKIE,
  type Shape,
  XHR,
} from './corpus-http.ts';
import { BENIGN_HTML, BENIGN_VALUES, BROWSER_USER_AGENTS } from './corpus-payloads.ts';

/** The carriers of benign values: each puts a value where a Magento shop gets such text. */
const BENIGN_CARRIERS: readonly {
  readonly name: string;
  readonly placement: Placement;
  readonly build: (v: string) => Shape;
}[] = [
  {
    name: 'search',
    placement: 'query',
    build: (v) => ({
      method: 'GET',
      path: `/catalogsearch/result/?q=${enc(v)}`,
      headers: { ...PAGE, cookie: SESSION_COOKIE },
    }),
  },
  {
    name: 'suggest',
    placement: 'query',
    build: (v) => ({
      method: 'GET',
      path: `/search/ajax/suggest/?q=${enc(v)}&_=1712345678901`,
      headers: { ...XHR, cookie: SESSION_COOKIE },
    }),
  },
  {
    name: 'review',
    placement: 'form',
    build: (v) => ({
      method: 'POST',
      path: '/review/product/post/id/1812/',
      headers: { ...XHR, cookie: SESSION_COOKIE, 'content-type': FORM_TYPE },
      body: form([
        ['form_key', FORM_KEY],
        ['ratings[4]', '19'],
        ['nickname', 'Jane'],
        ['title', v],
        ['detail', `Bought "${v}" last week - fits well & arrived fast. 5/5!`],
      ]),
    }),
  },
  {
    name: 'contact',
    placement: 'form',
    build: (v) => ({
      method: 'POST',
      path: '/contact/index/post/',
      headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': FORM_TYPE },
      body: form([
        ['form_key', FORM_KEY],
        ['name', "Mary O'Hara"],
        ['email', 'mary@example.com'],
        ['telephone', ''],
        ['comment', `Hi, about my order: ${v}`],
        ['hideit', ''],
      ]),
    }),
  },
  {
    name: 'cart-option',
    placement: 'json',
    build: (v) => json('POST', '/rest/V1/carts/mine/items', cartItemWithOption(v), BEARER),
  },
  {
    name: 'graphql-search',
    placement: 'json',
    build: (v) =>
      json('POST', '/graphql', {
        query:
          'query ($search: String!) { products(search: $search, pageSize: 12) { total_count items { name sku } } }',
        variables: { search: v },
      }),
  },
  {
    name: 'product-name',
    placement: 'multipart',
    build: (v) => ({
      method: 'POST',
      path: '/admin/catalog/product/save/id/42/',
      headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': MULTIPART_TYPE },
      body: multipart([
        ['form_key', FORM_KEY],
        ['product[name]', v],
        ['product[sku]', 'MH01'],
      ]),
    }),
  },
  // Magento keeps flash messages in a cookie as URL-encoded JSON.
  {
    name: 'messages-cookie',
    placement: 'cookie',
    build: (v) => ({
      method: 'GET',
      path: '/checkout/cart/',
      headers: {
        ...PAGE,
        cookie: `${SESSION_COOKIE}; mage-messages=${enc(JSON.stringify([{ type: 'success', text: `You added ${v} to your shopping cart.` }]))}`,
      },
    }),
  },
  {
    name: 'referer',
    placement: 'header',
    build: (v) => ({
      method: 'GET',
      path: '/checkout/cart/',
      headers: { ...PAGE, referer: `https://shop.localhost/catalogsearch/result/?q=${enc(v)}` },
    }),
  },
];

/** Benign shop traffic: every benign value through every carrier, then whole Magento requests. */
export function benignTraffic(): CorpusRequest[] {
  const out: CorpusRequest[] = [];
  const add = (id: string, placement: Placement, shape: Shape): void => {
    out.push({ id: `benign.${id}`, family: 'benign', placement, expectBlocked: false, ...shape });
  };
  for (const c of BENIGN_CARRIERS) {
    for (const [i, v] of BENIGN_VALUES.entries()) add(`${c.name}.${pad(i)}`, c.placement, c.build(v));
  }
  GRAPHQL_OPERATIONS.forEach((op, i) => {
    add(`graphql-post.${pad(i)}`, 'json', json('POST', '/graphql', op, { store: 'default' }));
    if (op.query.startsWith('query')) {
      const vars = op.variables ? `&variables=${enc(JSON.stringify(op.variables))}` : '';
      add(`graphql-get.${pad(i)}`, 'query', {
        method: 'GET',
        path: `/graphql?query=${enc(op.query)}${vars}`,
        headers: { ...XHR, store: 'default' },
      });
    }
  });
  for (const [i, c] of REST_CALLS.entries())
    add(`rest.${pad(i)}`, 'json', json(c.method, c.path, c.body, BEARER));
  for (const [i, path] of STOREFRONT_PATHS.entries()) {
    add(`page.${pad(i)}`, 'path', { method: 'GET', path, headers: { ...PAGE, cookie: SESSION_COOKIE } });
  }
  for (const [i, ua] of BROWSER_USER_AGENTS.entries()) {
    add(`browser.${pad(i)}`, 'header', {
      method: 'GET',
      path: STOREFRONT_PATHS[i * 3]!,
      headers: { ...PAGE, 'user-agent': ua },
    });
  }
  for (const [i, [user, password]] of LOGINS.entries()) {
    add(`login.${pad(i)}`, 'form', {
      method: 'POST',
      path: '/customer/account/loginPost/',
      headers: {
        ...PAGE,
        cookie: SESSION_COOKIE,
        'content-type': FORM_TYPE,
        referer: 'https://shop.localhost/customer/account/login/',
      },
      body: form([
        ['form_key', FORM_KEY],
        ['login[username]', user],
        ['login[password]', password],
        ['send', ''],
      ]),
    });
  }
  for (const [i, [street, city, postcode, country, telephone]] of ADDRESSES.entries()) {
    add(`checkout-address.${pad(i)}`, 'form', {
      method: 'POST',
      path: '/customer/address/formPost/',
      headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': FORM_TYPE },
      body: form([
        ['form_key', FORM_KEY],
        ['firstname', 'Ann'],
        ['lastname', "O'Neill-Smith"],
        ['company', 'Smith & Sons Ltd.'],
        ['telephone', telephone],
        ['street[0]', street],
        ['street[1]', ''],
        ['city', city],
        ['region_id', ''],
        ['postcode', postcode],
        ['country_id', country],
        ['default_billing', '1'],
      ]),
    });
  }
  for (const [i, [street, city, postcode, country, telephone]] of ADDRESSES.entries()) {
    add(
      `checkout-shipping.${pad(i)}`,
      'json',
      json('POST', '/rest/default/V1/guest-carts/4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D/shipping-information', {
        addressInformation: {
          shipping_address: {
            firstname: 'Ann',
            lastname: "O'Neill",
            street: [street],
            city,
            postcode,
            country_id: country,
            telephone,
          },
          shipping_carrier_code: 'flatrate',
          shipping_method_code: 'flatrate',
        },
      }),
    );
  }
  BENIGN_HTML.forEach((html, i) => {
    const fields: [string, string][] = [
      ['form_key', FORM_KEY],
      ['product[name]', 'Radiant Tee'],
      ['product[sku]', 'WS12'],
      ['product[description]', html],
      ['product[short_description]', '<p>Lightweight &amp; soft.</p>'],
      ['product[meta_title]', "Radiant Tee | Women's Tops"],
    ];
    const admin = {
      ...PAGE,
      cookie: `admin=8h3k2l1j0g9f8d7s6a5; ${SESSION_COOKIE}`,
      referer: 'https://shop.localhost/admin/catalog/product/edit/id/42/',
    };
    add(`admin-product-form.${pad(i)}`, 'form', {
      method: 'POST',
      path: '/admin/catalog/product/save/id/42/back/edit/',
      headers: { ...admin, 'content-type': FORM_TYPE },
      body: form(fields),
    });
    add(`admin-product-multipart.${pad(i)}`, 'multipart', {
      method: 'POST',
      path: '/admin/catalog/product/save/id/42/',
      headers: { ...admin, 'content-type': MULTIPART_TYPE },
      body: multipart(fields),
    });
    add(`admin-cms-page.${pad(i)}`, 'form', {
      method: 'POST',
      path: '/admin/cms/page/save/',
      headers: { ...admin, 'content-type': FORM_TYPE },
      body: form([
        ['form_key', FORM_KEY],
        ['title', 'About us'],
        ['identifier', 'about-us'],
        ['content_heading', 'Who we are'],
        ['content', html],
        ['is_active', '1'],
      ]),
    });
  });
  add('image-upload.00', 'upload', {
    method: 'POST',
    path: '/admin/catalog/product_gallery/upload/',
    headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': MULTIPART_TYPE },
    body: multipart(
      [['form_key', FORM_KEY]],
      [
        {
          field: 'image',
          filename: 'red-dress_front.jpg',
          type: 'image/jpeg',
          content: 'JFIF binary-ish data',
        },
      ],
    ),
  });
  add('newsletter.00', 'form', {
    method: 'POST',
    path: '/newsletter/subscriber/new/',
    headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': FORM_TYPE },
    body: form([['email', "o'neill+news@example.com"]]),
  });
  add('head.00', 'method', { method: 'HEAD', path: '/', headers: PAGE });
  add('options.00', 'method', {
    method: 'OPTIONS',
    path: '/graphql',
    headers: { ...PAGE, origin: 'https://pwa.shop.localhost', 'access-control-request-method': 'POST' },
  });
  return out;
}
