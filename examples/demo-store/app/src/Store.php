<?php

declare(strict_types=1);

namespace Demo;

use PDO;

/** The route handlers. Each takes the request (and path parameters) and returns a Response. */
final class Store
{
    private const MENU_FRAGMENT = 'category-menu:v1';

    private ?PDO $pdo = null;
    private readonly FragmentCache $fragments;

    public function __construct()
    {
        $this->fragments = new FragmentCache();
    }

    // ---- catalog (public, cacheable by Varnish) -------------------------------------

    public function home(Request $request): Response
    {
        $catalog = $this->catalog();
        $menu = $this->menu();
        $categories = $catalog->categories();
        $featured = $catalog->featured();

        $list = '';
        foreach ($categories as $c) {
            $list .= sprintf(
                '<li><a href="/category/%d">%s</a> <span class="count">(%d products)</span></li>',
                $c['id'],
                View::e($c['name']),
                $c['product_count']
            );
        }
        $content = '<section class="cms-block welcome"><h1>Welcome to the Triplane demo store</h1>'
            . '<p>A tiny Magento-style storefront: pages cached by Varnish, blocks in Redis, data in MariaDB.</p></section>'
            . '<section><h2>Categories</h2><ul class="category-list">' . $list . '</ul></section>'
            . '<section><h2>Featured products</h2>' . View::productGrid($featured) . '</section>';

        $tags = CacheTags::forPage(
            array_column($featured, 'id'),
            array_column($categories, 'id'),
            [...$menu['tags'], CacheTags::CMS_BLOCK]
        );
        return $this->page('Home', $content, $menu['html'], 'mariadb')->cacheable($tags);
    }

    public function category(Request $request, string $rawId): Response
    {
        $id = Validate::id('category_id', $rawId);
        $catalog = $this->catalog();
        $category = $catalog->category($id) ?? throw HttpError::notFound("category $id not found");
        $products = $catalog->productsInCategory($id);
        $menu = $this->menu();

        $content = sprintf('<h1 class="category-name" data-category-id="%d">%s</h1>', $id, View::e($category['name']))
            . sprintf('<p>%d products</p>', count($products))
            . View::productGrid($products);
        $tags = CacheTags::forPage(array_column($products, 'id'), [$id], $menu['tags']);
        return $this->page($category['name'], $content, $menu['html'], 'mariadb')->cacheable($tags);
    }

    public function product(Request $request, string $rawId): Response
    {
        $id = Validate::id('product_id', $rawId);
        $catalog = $this->catalog();
        $p = $catalog->product($id) ?? throw HttpError::notFound("product $id not found");
        $category = $catalog->category($p['category_id']);
        $menu = $this->menu();

        $content = sprintf(
            <<<'HTML'
            <article class="product" data-product-id="%1$d">
            <h1 class="product-name" data-field="name">%2$s</h1>
            <dl class="product-fields">
            <dt>ID</dt><dd data-field="id">%1$d</dd>
            <dt>SKU</dt><dd data-field="sku">%3$s</dd>
            <dt>Price</dt><dd data-field="price" class="price" data-price="%4$s">$%4$s</dd>
            <dt>Category</dt><dd data-field="category"><a href="/category/%5$d">%6$s</a></dd>
            <dt>Updated</dt><dd data-field="updated_at">%7$s</dd>
            </dl>
            <p class="description" data-field="description">%8$s</p>
            <form method="post" action="/cart/add" class="add-to-cart">
            <input type="hidden" name="product_id" value="%1$d">
            <label>Qty <input type="number" name="qty" value="1" min="1" max="99"></label>
            <button type="submit">Add to cart</button>
            </form>
            </article>
            HTML,
            $p['id'],
            View::e($p['name']),
            View::e($p['sku']),
            View::e($p['price']),
            $p['category_id'],
            View::e($category['name'] ?? ''),
            View::e($p['updated_at']),
            View::e($p['description'])
        );
        $tags = CacheTags::forPage([$id], [$p['category_id']], $menu['tags']);
        return $this->page($p['name'], $content, $menu['html'], 'mariadb')->cacheable($tags);
    }

    // ---- cart and checkout (private) ----------------------------------------------

    public function cart(Request $request): Response
    {
        $cart = Cart::open($request, write: false);
        $products = $this->catalog()->productsById(array_keys($cart->lines()));
        $cart->keepOnly($products);
        [$items, $subtotalCents] = self::cartItems($cart, $products);
        $handler = Cart::saveHandler();

        if ($request->wantsJson()) {
            return Response::json([
                'items' => $items,
                'item_count' => $cart->itemCount(),
                'subtotal' => Orders::money($subtotalCents),
                'session_save_handler' => $handler,
            ]);
        }
        $rows = '';
        foreach ($items as $i) {
            $rows .= sprintf(
                '<tr data-product-id="%d"><td><a href="/product/%d">%s</a></td><td class="qty">%d</td><td class="price">$%s</td><td class="row-total">$%s</td></tr>',
                $i['product_id'],
                $i['product_id'],
                View::e($i['name']),
                $i['qty'],
                View::e($i['price']),
                View::e($i['row_total'])
            );
        }
        $content = '<h1>Your cart</h1>'
            . ($items === []
                ? '<p class="empty">Your cart is empty.</p>'
                : '<table class="cart"><thead><tr><th>Product</th><th>Qty</th><th>Price</th><th>Total</th></tr></thead><tbody>'
                    . $rows . '</tbody></table>'
                    . sprintf('<p class="subtotal">Subtotal: $<span data-field="subtotal">%s</span></p>', Orders::money($subtotalCents))
                    . '<form method="post" action="/checkout"><button type="submit">Place order</button></form>')
            . sprintf('<p class="session-handler">session.save_handler: <code>%s</code></p>', View::e($handler));
        return $this->page('Cart', $content, $this->menu()['html'], 'mariadb + session (' . $handler . ')');
    }

    public function cartAdd(Request $request): Response
    {
        $productId = Validate::id('product_id', $request->field('product_id'));
        $qty = Validate::qty($request->field('qty') ?? '1');
        if ($this->catalog()->product($productId) === null) {
            throw HttpError::notFound("product $productId not found");
        }
        $cart = Cart::open($request, write: true);
        $cart->add($productId, $qty);
        session_write_close();

        if ($request->wantsHtml()) {
            return Response::redirect('/cart');
        }
        $items = [];
        foreach ($cart->lines() as $id => $lineQty) {
            $items[] = ['product_id' => $id, 'qty' => $lineQty];
        }
        return Response::json(['ok' => true, 'cart' => ['items' => $items, 'item_count' => $cart->itemCount()]]);
    }

    public function checkout(Request $request): Response
    {
        $cart = Cart::open($request, write: true);
        $products = $this->catalog()->productsById(array_keys($cart->lines()));
        $cart->keepOnly($products);
        if ($cart->lines() === []) {
            session_write_close();
            throw new HttpError(400, 'cart is empty', ['field' => 'cart', 'value' => null]);
        }
        $orderId = (new Orders($this->db()))->create($cart->lines(), $products);
        $cart->clear();
        session_write_close();

        try {
            $queue = new OrderQueue();
            $queue->publish($orderId);
            $queue->close();
        } catch (\Throwable $e) {
            // The order exists but nobody will process it until it is re-queued: say so.
            error_log(sprintf('demo-store: publishing order %d failed: %s', $orderId, $e->getMessage()));
            return Response::json(['error' => 'order queue unavailable', 'order_id' => $orderId, 'status' => Orders::PENDING], 503)
                ->withHeader('Retry-After', '5');
        }

        if ($request->wantsHtml()) {
            $content = sprintf(
                '<h1>Thank you!</h1><p class="order-placed">Order <a href="/order/%1$d">#<span data-field="order_id">%1$d</span></a> is pending.</p>',
                $orderId
            );
            return $this->page('Order placed', $content, $this->menu()['html'], 'mariadb');
        }
        return Response::json(['order_id' => $orderId, 'status' => Orders::PENDING], 201)
            ->withHeader('Location', '/order/' . $orderId);
    }

    public function order(Request $request, string $rawId): Response
    {
        $id = Validate::id('order_id', $rawId);
        $order = (new Orders($this->db()))->find($id) ?? throw HttpError::notFound("order $id not found");
        return Response::json($order);
    }

    // ---- admin ------------------------------------------------------------------------

    public function admin(Request $request): Response
    {
        self::checkAdmin($request);
        $orders = new Orders($this->db());
        $counts = $orders->countsByStatus();
        $recent = $orders->recent();
        if ($request->wantsJson()) {
            return Response::json([
                'orders_total' => array_sum($counts),
                'pending' => $counts[Orders::PENDING],
                'processed' => $counts[Orders::PROCESSED],
                'recent' => $recent,
                'role' => Config::role(),
            ]);
        }
        $orderRows = '';
        foreach ($recent as $o) {
            $orderRows .= sprintf(
                '<tr data-order-id="%d"><td>%d</td><td class="status">%s</td><td>$%s</td><td>%d</td><td>%s</td><td>%s</td></tr>',
                $o['id'],
                $o['id'],
                View::e($o['status']),
                View::e($o['grand_total']),
                $o['item_count'],
                View::e($o['created_at']),
                View::e($o['processed_at'] ?? '—')
            );
        }
        $productRows = '';
        foreach ($this->catalog()->allProducts() as $p) {
            $productRows .= sprintf(
                '<tr><td>%1$d</td><td colspan="2"><form method="post" action="/admin/product/%1$d" class="inline">'
                . '<input name="name" value="%2$s" maxlength="255" required> '
                . '<input name="price" value="%3$s" inputmode="decimal" pattern="\d{1,6}(\.\d{1,2})?" required> '
                . '<button type="submit">Save &amp; purge</button></form></td></tr>',
                $p['id'],
                View::e($p['name']),
                View::e($p['price'])
            );
        }
        $content = '<h1>Admin</h1>'
            . sprintf(
                '<p class="order-counts">Orders: <span data-field="orders_total">%d</span> · pending: <span data-field="pending">%d</span> · processed: <span data-field="processed">%d</span></p>',
                array_sum($counts),
                $counts[Orders::PENDING],
                $counts[Orders::PROCESSED]
            )
            . '<h2>Recent orders</h2><table class="orders"><thead><tr><th>#</th><th>Status</th><th>Total</th><th>Items</th><th>Created</th><th>Processed</th></tr></thead><tbody>'
            . $orderRows . '</tbody></table>'
            . '<h2>Products</h2><table class="products"><thead><tr><th>#</th><th>Name</th><th>Price</th></tr></thead><tbody>'
            . $productRows . '</tbody></table>';
        return Response::html(View::page('Admin', $content, '', 'mariadb'));
    }

    public function adminProduct(Request $request, string $rawId): Response
    {
        self::checkAdmin($request);
        $id = Validate::id('product_id', $rawId);
        $name = Validate::name($request->field('name'));
        $price = Validate::price($request->field('price'));
        if (!$this->catalog()->updateProduct($id, $name, $price)) {
            throw HttpError::notFound("product $id not found");
        }
        $purge = (new Purger())->purgeTag(CacheTags::product($id));
        $ok = $purge['error'] === null;
        $body = ['ok' => $ok, 'purged' => $purge['status'], 'product' => ['id' => $id, 'name' => $name, 'price' => $price]];
        if (!$ok) {
            $body['error'] = 'product updated but purge failed: ' . $purge['error'];
        }
        return Response::json($body, $ok ? 200 : 502);
    }

    // ---- media --------------------------------------------------------------------

    public function mediaUpload(Request $request): Response
    {
        $contentLength = (int) $request->header('content-length');
        if ($request->files === [] && $contentLength > Media::iniBytes('post_max_size')) {
            throw new HttpError(413, 'request body too large', ['field' => 'file', 'value' => null]);
        }
        $file = $request->files['file'] ?? null;
        $stored = Media::store(is_array($file) ? $file : null, Config::mediaDir());
        return Response::json($stored, 201)->withHeader('Location', $stored['url']);
    }

    // ---- helpers ------------------------------------------------------------------

    private function db(): PDO
    {
        if ($this->pdo === null) {
            $pdo = Database::connection();
            Database::ensureSchema($pdo);
            $this->pdo = $pdo;
        }
        return $this->pdo;
    }

    private function catalog(): Catalog
    {
        return new Catalog($this->db());
    }

    /** @return array{html: string, tags: list<string>} the category menu, from Redis when cached */
    private function menu(): array
    {
        return $this->fragments->remember(self::MENU_FRAGMENT, function (): array {
            $categories = $this->catalog()->categories();
            return [
                'html' => View::menu($categories),
                'tags' => CacheTags::forPage([], array_column($categories, 'id')),
            ];
        });
    }

    /** An HTML page that reports how its menu fragment was obtained (X-Fragment-Cache). */
    private function page(string $title, string $content, string $menuHtml, string $dataSource): Response
    {
        return Response::html(View::page($title, $content, $menuHtml, $dataSource))
            ->withHeader('X-Fragment-Cache', $this->fragments->lastStatus);
    }

    /**
     * @param array<int, array{id: int, sku: string, name: string, price: string}> $products
     * @return array{0: list<array{product_id: int, sku: string, name: string, price: string, qty: int, row_total: string}>, 1: int}
     */
    private static function cartItems(Cart $cart, array $products): array
    {
        $items = [];
        $subtotal = 0;
        foreach ($cart->lines() as $id => $qty) {
            $p = $products[$id];
            $row = Orders::cents($p['price']) * $qty;
            $subtotal += $row;
            $items[] = [
                'product_id' => $id,
                'sku' => $p['sku'],
                'name' => $p['name'],
                'price' => $p['price'],
                'qty' => $qty,
                'row_total' => Orders::money($row),
            ];
        }
        return [$items, $subtotal];
    }

    /**
     * Optional protection of the admin routes: when ADMIN_TOKEN is set, HTTP Basic auth
     * with that password (any user name) is required. Unset (the demo default): open.
     */
    private static function checkAdmin(Request $request): void
    {
        $token = Config::adminToken();
        if ($token === '') {
            return;
        }
        $auth = $request->header('authorization');
        $decoded = str_starts_with($auth, 'Basic ') ? base64_decode(substr($auth, 6), true) : false;
        $password = is_string($decoded) && str_contains($decoded, ':') ? explode(':', $decoded, 2)[1] : '';
        if (!hash_equals($token, $password)) {
            throw new HttpError(401, 'admin authentication required', [], ['WWW-Authenticate' => 'Basic realm="demo-store admin"']);
        }
    }
}
