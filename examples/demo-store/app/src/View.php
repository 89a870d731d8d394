<?php

declare(strict_types=1);

namespace Demo;

/** HTML helpers: escaping and the page layout shared by every HTML route. */
final class View
{
    public static function e(string|int|float|null $value): string
    {
        return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8');
    }

    /** Who rendered this page: shown in a meta tag and an HTML comment. */
    public static function servedBy(): string
    {
        return sprintf(
            'php %s host=%s role=%s store=%s pid=%d',
            PHP_VERSION,
            (string) gethostname(),
            Config::role(),
            Config::store(),
            (int) getmypid()
        );
    }

    /**
     * @param string $dataSource e.g. "mariadb" — printed as "data: mariadb" in the footer
     * @param string $menu the category menu HTML (usually from the fragment cache)
     */
    public static function page(string $title, string $content, string $menu, string $dataSource): string
    {
        $servedBy = self::servedBy();
        $generatedAt = (new \DateTimeImmutable('now', new \DateTimeZone('UTC')))->format('Y-m-d\TH:i:s.u\Z');
        $t = self::e($title);
        $s = self::e($servedBy);
        $g = self::e($generatedAt);
        $d = self::e($dataSource);
        // The HTML comment must not contain "--"; servedBy only has safe characters anyway.
        $comment = str_replace('--', '- -', $servedBy . ' data: ' . $dataSource);
        return <<<HTML
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="x-served-by" content="{$s}">
            <meta name="x-generated-at" content="{$g}">
            <title>{$t} · Triplane demo store</title>
            <link rel="stylesheet" href="/static/css/styles.css">
            </head>
            <body>
            <header class="site-header">
            <a class="logo" href="/"><img src="/static/images/logo.svg" alt="Triplane demo store" width="160" height="40"></a>
            {$menu}
            <a class="cart-link" href="/cart">Cart</a>
            </header>
            <main>
            {$content}
            </main>
            <footer class="site-footer">
            <p class="data-source">data: {$d}</p>
            <p class="served-by">served by {$s} at {$g}</p>
            </footer>
            <!-- served-by: {$comment} -->
            </body>
            </html>

            HTML;
    }

    /** @param list<array{id: int, name: string, url_key: string, product_count: int}> $categories */
    public static function menu(array $categories): string
    {
        $items = '';
        foreach ($categories as $c) {
            $items .= sprintf(
                '<li><a href="/category/%d" data-category-id="%d">%s</a></li>',
                $c['id'],
                $c['id'],
                self::e($c['name'])
            );
        }
        return '<nav class="category-menu" aria-label="Categories"><ul>' . $items . '</ul></nav>';
    }

    /** @param list<array{id: int, sku: string, name: string, price: string}> $products */
    public static function productGrid(array $products): string
    {
        $cards = '';
        foreach ($products as $p) {
            $cards .= sprintf(
                '<li class="product-card" data-product-id="%d"><a href="/product/%d"><span class="name">%s</span></a>'
                . ' <span class="price" data-price="%s">$%s</span> <span class="sku">%s</span></li>',
                $p['id'],
                $p['id'],
                self::e($p['name']),
                self::e($p['price']),
                self::e($p['price']),
                self::e($p['sku'])
            );
        }
        return '<ul class="product-grid">' . $cards . '</ul>';
    }

    public static function errorPage(int $status, string $message): string
    {
        $content = sprintf('<h1>%d</h1><p class="error">%s</p><p><a href="/">Back to the store</a></p>', $status, self::e($message));
        return self::page('Error ' . $status, $content, '', 'none');
    }
}
