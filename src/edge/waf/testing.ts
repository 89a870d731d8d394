/** Fixtures the WAF's tests share. */
import type { WafRequest } from './engine/request.ts';

/** A storefront product page request, which the CRS lets through at every paranoia level. */
export const PRODUCT_GET: WafRequest = {
  method: 'GET',
  uri: '/catalog/product/view/id/7',
  httpVersion: '1.1',
  headers: [
    ['Host', 'shop.localhost'],
    ['User-Agent', 'Mozilla/5.0'],
  ],
  remoteAddr: '10.0.0.9',
  remotePort: 50000,
  serverPort: 8080,
  id: 'req-1',
};

/** A MySQL error message, which CRS rule 951220 finds in a response body (959100 then blocks). */
export const SQL_ERROR_TEXT =
  'You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version';
