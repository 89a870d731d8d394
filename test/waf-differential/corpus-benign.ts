/**
 * Benign Magento 2 traffic that is not a value list: storefront browsing, GraphQL, REST, customer
 * login, checkout and admin posts, written out as the Luma theme and the PWA studio send them.
 */

/** GraphQL operations of a PWA storefront (sent as POST JSON and, for queries, as GET). */
export const GRAPHQL_OPERATIONS: readonly { readonly query: string; readonly variables?: object }[] = [
  {
    query:
      'query ProductSearch($search: String!, $pageSize: Int) { products(search: $search, pageSize: $pageSize) { total_count items { name sku url_key price_range { minimum_price { final_price { value currency } } } } } }',
    variables: { search: 'red dress', pageSize: 12 },
  },
  {
    query:
      'query Category($id: String!) { categories(filters: { category_uid: { eq: $id } }) { items { uid name url_path children { uid name } } } }',
    variables: { id: 'MjM=' },
  },
  {
    query:
      'query { products(filter: { sku: { eq: "24-MB01" } }) { items { name description { html } media_gallery { url label } } } }',
  },
  { query: 'query { storeConfig { store_code base_currency_code locale timezone } }' },
  {
    query:
      'query { cart(cart_id: "4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D") { total_quantity items { uid quantity product { sku name } } } }',
  },
  {
    query: 'query { customer { firstname lastname email addresses { street city postcode country_code } } }',
  },
  { query: 'query { countries { id full_name_english available_regions { id code name } } }' },
  {
    query: 'query ($url: String!) { urlResolver(url: $url) { type id relative_url } }',
    variables: { url: 'women/tops-women.html' },
  },
  { query: 'query { cmsPage(identifier: "home") { title content content_heading } }' },
  {
    query:
      'mutation ($cartId: String!, $sku: String!, $qty: Float!) { addProductsToCart(cartId: $cartId, cartItems: [{ sku: $sku, quantity: $qty }]) { cart { total_quantity } user_errors { code message } } }',
    variables: { cartId: '4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D', sku: 'MH01-XS-Black', qty: 1 },
  },
  {
    query:
      'mutation ($email: String!, $password: String!) { generateCustomerToken(email: $email, password: $password) { token } }',
    variables: { email: "jane.o'neill@example.com", password: "P@ss'w0rd -- 2024!" },
  },
  {
    query:
      'mutation { createCustomerV2(input: { firstname: "Seán", lastname: "O\'Brien", email: "sean.obrien@example.com", password: "Tr0ub4dor&3", is_subscribed: true }) { customer { email } } }',
  },
  {
    query:
      'mutation ($cartId: String!) { setShippingAddressesOnCart(input: { cart_id: $cartId, shipping_addresses: [{ address: { firstname: "Ann", lastname: "Lee", street: ["123 O\'Connell St.", "Apt #4"], city: "Dublin", postcode: "D01 F5P2", country_code: "IE", telephone: "+353 1 234 5678", save_in_address_book: false } }] }) { cart { shipping_addresses { city } } } }',
    variables: { cartId: '4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D' },
  },
  {
    query:
      'mutation ($cartId: String!) { placeOrder(input: { cart_id: $cartId }) { order { order_number } } }',
    variables: { cartId: '4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D' },
  },
  {
    query:
      'query { products(search: "Tom & Jerry <3 pack>", sort: { relevance: DESC }, currentPage: 2) { items { name } aggregations { attribute_code options { label value count } } } }',
  },
];

/** REST calls of Magento's storefront and of integrations (method, path, JSON body). */
export const REST_CALLS: readonly {
  readonly method: string;
  readonly path: string;
  readonly body?: object;
}[] = [
  {
    method: 'POST',
    path: '/rest/V1/carts/mine/items',
    body: { cartItem: { sku: '24-MB01', qty: 1, quote_id: '4' } },
  },
  {
    method: 'POST',
    path: '/rest/V1/carts/mine/items',
    body: {
      cartItem: {
        sku: 'MH01',
        qty: 2,
        quote_id: '4',
        product_option: {
          extension_attributes: {
            configurable_item_options: [
              { option_id: '93', option_value: 49 },
              { option_id: '144', option_value: 167 },
            ],
          },
        },
      },
    },
  },
  { method: 'POST', path: '/rest/V1/guest-carts' },
  {
    method: 'POST',
    path: '/rest/default/V1/guest-carts/4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D/items',
    body: { cartItem: { sku: 'WS12-M-Orange', qty: 1, quote_id: '4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D' } },
  },
  {
    method: 'POST',
    path: '/rest/V1/integration/customer/token',
    body: { username: "jane.o'neill@example.com", password: 'Secr3t&Safe!' },
  },
  {
    method: 'POST',
    path: '/rest/default/V1/carts/mine/estimate-shipping-methods',
    body: { address: { street: ["Rue de l'Église 5"], city: 'Paris', postcode: '75001', country_id: 'FR' } },
  },
  {
    method: 'POST',
    path: '/rest/default/V1/carts/mine/shipping-information',
    body: {
      addressInformation: {
        shipping_address: {
          firstname: 'Jane',
          lastname: "O'Neill",
          street: ['123 Main St.', 'Suite #200'],
          city: 'Austin',
          region: 'Texas',
          region_id: 57,
          postcode: '78701',
          country_id: 'US',
          telephone: '(512) 555-0100',
        },
        shipping_carrier_code: 'flatrate',
        shipping_method_code: 'flatrate',
      },
    },
  },
  {
    method: 'POST',
    path: '/rest/default/V1/carts/mine/payment-information',
    body: {
      cartId: '4',
      paymentMethod: { method: 'checkmo', po_number: null, additional_data: null },
      billingAddress: { firstname: 'Jane', lastname: "O'Neill", street: ['123 Main St.'], city: 'Austin' },
    },
  },
  {
    method: 'POST',
    path: '/rest/default/V1/guest-carts/4nKT0VYpFbWDNzKyp3yVRcm4YuWmYf4D/payment-information',
    body: { email: 'guest+order@example.com', paymentMethod: { method: 'checkmo' } },
  },
  {
    method: 'POST',
    path: '/rest/V1/customers',
    body: {
      customer: { email: 'tom.and.jerry@example.com', firstname: 'Tom & Jerry', lastname: 'Cat <Mouse>' },
      password: 'Sup3r-Secret',
    },
  },
  {
    method: 'POST',
    path: '/rest/V1/products',
    body: {
      product: {
        sku: 'TJ-3PK',
        name: 'Tom & Jerry <3 pack>',
        price: 19.99,
        attribute_set_id: 4,
        type_id: 'simple',
        custom_attributes: [
          { attribute_code: 'description', value: '<p>The classic duo, <strong>three</strong> times.</p>' },
          { attribute_code: 'meta_title', value: "Tom & Jerry's <3 pack> | Shop" },
        ],
      },
    },
  },
  { method: 'GET', path: '/rest/V1/carts/mine/totals' },
  { method: 'GET', path: '/rest/V1/directory/countries' },
  { method: 'GET', path: '/rest/V1/customers/me' },
  {
    method: 'GET',
    path: '/rest/V1/products?searchCriteria[filter_groups][0][filters][0][field]=name&searchCriteria[filter_groups][0][filters][0][value]=%25dress%25&searchCriteria[filter_groups][0][filters][0][condition_type]=like&searchCriteria[pageSize]=20',
  },
  {
    method: 'GET',
    path: '/rest/V1/orders?searchCriteria[sortOrders][0][field]=created_at&searchCriteria[sortOrders][0][direction]=DESC&searchCriteria[currentPage]=1',
  },
  // Magento's REST API uses PUT and DELETE: CRS's default allowed methods do not include them.
  {
    method: 'PUT',
    path: '/rest/V1/carts/mine/items/17',
    body: { cartItem: { item_id: 17, qty: 3, quote_id: '4' } },
  },
  { method: 'DELETE', path: '/rest/V1/carts/mine/items/17' },
  { method: 'PUT', path: '/rest/V1/carts/mine/coupons/SPRING-10' },
  {
    method: 'PUT',
    path: '/rest/V1/customers/me',
    body: { customer: { email: 'jane@example.com', firstname: 'Jane' } },
  },
];

/** Storefront pages and assets a browser asks for. */
export const STOREFRONT_PATHS: readonly string[] = [
  '/',
  '/women.html',
  '/women/tops-women/jackets-women.html',
  '/women/tops-women/jackets-women.html?color=49&size=167',
  '/women/tops-women/jackets-women.html?price=50-60&product_list_order=price&product_list_dir=asc',
  '/men/bottoms-men.html?p=2&product_list_limit=36',
  '/gear/bags.html?activity=11%2C19&material=37',
  '/sale.html?cat=17&product_list_mode=list',
  '/what-is-new.html',
  '/training.html?___store=default&___from_store=fr',
  '/radiant-tee.html',
  '/joust-duffle-bag.html?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024',
  '/hero-hoodie.html?gclid=Cj0KCQjwxYOiBhC9ARIsANiEIfZ7&fbclid=IwAR2xYz',
  '/breathe-easy-tank.html#reviews',
  '/catalog/product/view/id/1812/s/radiant-tee/category/25/',
  '/catalogsearch/result/?q=jacket&product_list_order=relevance',
  '/catalogsearch/result/index/?p=2&q=yoga+pants',
  '/catalogsearch/advanced/result/?name=tee&sku=&price%5Bfrom%5D=10&price%5Bto%5D=40',
  '/search/ajax/suggest/?q=hood&_=1712345678901',
  '/customer/section/load/?sections=cart%2Cmessages&force_new_section_timestamp=true&_=1712345678901',
  '/customer/section/load/?sections=customer%2Ccompare-products%2Clast-ordered-items%2Ccart%2Cdirectory-data%2Ccaptcha%2Cinstant-purchase%2CloggedAsCustomer%2Cpersistent%2Creview%2Cwishlist%2Crecently_viewed_product%2Crecently_compared_product%2Cproduct_data_storage%2Cpaypal-billing-agreement&force_new_section_timestamp=false&_=1712345678902',
  '/customer/account/login/referer/aHR0cHM6Ly9zaG9wLmxvY2FsaG9zdC9jaGVja291dC8%2C/',
  '/customer/account/create/',
  '/customer/account/',
  '/sales/order/history/',
  '/wishlist/',
  '/checkout/cart/',
  '/checkout/',
  '/checkout/#shipping',
  '/checkout/onepage/success/',
  '/contact/',
  '/about-us',
  '/privacy-policy-cookie-restriction-mode',
  '/static/version1712345678/frontend/Magento/luma/en_US/mage/calendar.css',
  '/static/version1712345678/frontend/Magento/luma/en_US/css/styles-m.css',
  '/static/version1712345678/frontend/Magento/luma/en_US/requirejs/require.js',
  '/static/version1712345678/frontend/Magento/luma/en_US/Magento_Theme/favicon.ico',
  '/static/version1712345678/frontend/Magento/luma/en_US/fonts/opensans/regular/opensans-400.woff2',
  '/media/catalog/product/cache/7c3e1a0b2f/m/h/mh01-black_main_1.jpg',
  '/media/wysiwyg/home/home-main.jpg',
  '/media/logo/stores/1/logo.svg',
  '/robots.txt',
  '/sitemap.xml',
  '/page_cache/block/esi/blocks/%5B%22catalog.topnav%22%5D/handles/WyJkZWZhdWx0IiwiY21zX2luZGV4X2luZGV4Il0%3D/',
  '/newsletter/subscriber/confirm/?id=12&code=abcdef0123456789',
  '/review/product/listAjax/id/1812/',
  '/swatches/ajax/media/?product_id=1812&isAjax=true',
  '/checkout/cart/configure/id/17/product_id/1812/',
  '/customer/account/confirm/?id=42&key=6f1ed002ab5595859014ebf0951522d9&back_url=',
  '/sales/guest/form/',
];

/** Customer logins: username and password as typed. */
export const LOGINS: readonly (readonly [string, string])[] = [
  ['jane.doe@example.com', 'correct horse battery staple'],
  ["jane.o'neill@example.com", "P@ss'w0rd!"],
  ['tom+jerry@example.com', 'Tom&Jerry<3'],
  ['admin@example.com', 'S3cure-Pa55--word'],
  ['ms.smith@example.co.uk', '"quoted" passphrase'],
  ['joão.silva@example.com.br', 'senha#1234'],
  ['user_123@example.com', 'or 1 equals 1? no'],
  ['o.brien@example.ie', 'Select*Your*Own'],
  ['kim@example.kr', '1=1 is true'],
  ['Dr.Who@example.com', 'T4RD1S; bigger inside'],
];

/** Checkout shipping addresses posted as a form (street, city, postcode, country, telephone). */
export const ADDRESSES: readonly (readonly [string, string, string, string, string])[] = [
  ["123 O'Connell St., Apt #4", 'Dublin', 'D01 F5P2', 'IE', '+353 1 234 5678'],
  ["Rue de l'Église 5", 'Paris', '75001', 'FR', '01 23 45 67 89'],
  ['Straße des 17. Juni 135', 'Berlin', '10623', 'DE', '+49 30 1234567'],
  ['1600 Amphitheatre Pkwy; Bldg 40', 'Mountain View', '94043', 'US', '(650) 253-0000'],
  ['P.O. Box 12 & 14', 'Anchorage', '99501', 'US', '907-555-0199'],
  ['Flat 3/2, 10 Downing St.', 'London', 'SW1A 2AA', 'GB', '020 7946 0000'],
  ['c/o John Smith, 5 "The Lanes"', 'Brighton', 'BN1 1HB', 'GB', '01273 000000'],
  ['1-2-3 Shibuya <Bldg. A>', '渋谷区', '150-0002', 'JP', '03-1234-5678'],
  ['Calle 8 #45-12', 'Bogotá', '110111', 'CO', '+57 1 5555555'],
  ['Unit 4/56 Smith St (rear)', 'Sydney', '2000', 'AU', '(02) 9876 5432'],
];
