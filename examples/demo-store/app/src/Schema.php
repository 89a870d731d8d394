<?php

declare(strict_types=1);

namespace Demo;

use PDO;

/** Table definitions and the demo catalog. Bump VERSION when the DDL changes. */
final class Schema
{
    public const VERSION = 1;

    public const TABLES = [
        <<<'SQL'
        CREATE TABLE IF NOT EXISTS store_meta (
            name VARCHAR(64) NOT NULL PRIMARY KEY,
            value VARCHAR(255) NOT NULL
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        SQL,
        <<<'SQL'
        CREATE TABLE IF NOT EXISTS categories (
            id INT UNSIGNED NOT NULL PRIMARY KEY,
            name VARCHAR(255) NOT NULL,
            url_key VARCHAR(255) NOT NULL UNIQUE,
            position INT NOT NULL DEFAULT 0
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        SQL,
        <<<'SQL'
        CREATE TABLE IF NOT EXISTS products (
            id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            sku VARCHAR(64) NOT NULL UNIQUE,
            name VARCHAR(255) NOT NULL,
            description TEXT NOT NULL,
            price DECIMAL(12,2) NOT NULL,
            category_id INT UNSIGNED NOT NULL,
            featured TINYINT(1) NOT NULL DEFAULT 0,
            updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
            KEY idx_products_category (category_id),
            CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        SQL,
        <<<'SQL'
        CREATE TABLE IF NOT EXISTS orders (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            status VARCHAR(20) NOT NULL DEFAULT 'pending',
            grand_total DECIMAL(12,2) NOT NULL,
            item_count INT UNSIGNED NOT NULL,
            created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            processed_at DATETIME(3) NULL,
            KEY idx_orders_status (status)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        SQL,
        <<<'SQL'
        CREATE TABLE IF NOT EXISTS order_items (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            order_id BIGINT UNSIGNED NOT NULL,
            product_id INT UNSIGNED NOT NULL,
            sku VARCHAR(64) NOT NULL,
            name VARCHAR(255) NOT NULL,
            price DECIMAL(12,2) NOT NULL,
            qty INT UNSIGNED NOT NULL,
            KEY idx_order_items_order (order_id),
            CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        SQL,
    ];

    /** id => [name, url_key] */
    public const CATEGORIES = [
        1 => ['Gear', 'gear'],
        2 => ['Apparel', 'apparel'],
        3 => ['Home & Kitchen', 'home-kitchen'],
        4 => ['Books', 'books'],
    ];

    /** [sku, name, price, category id, featured] — ids are assigned 1..20 in this order. */
    public const PRODUCTS = [
        ['GR-001', 'Trail Backpack 24L', '79.00', 1, true],
        ['GR-002', 'Aluminium Water Bottle', '19.50', 1, false],
        ['GR-003', 'Headlamp 300lm', '34.90', 1, true],
        ['GR-004', 'Trekking Poles (pair)', '59.00', 1, false],
        ['GR-005', 'Compact Rain Shell', '89.00', 1, false],
        ['AP-001', 'Merino T-Shirt', '45.00', 2, true],
        ['AP-002', 'Fleece Hoodie', '64.00', 2, false],
        ['AP-003', 'Wool Socks (3 pairs)', '24.00', 2, false],
        ['AP-004', 'Canvas Cap', '18.00', 2, false],
        ['AP-005', 'Softshell Trousers', '72.50', 2, true],
        ['HK-001', 'Pour-Over Coffee Set', '38.00', 3, true],
        ['HK-002', 'Cast Iron Skillet 26cm', '42.00', 3, false],
        ['HK-003', 'Linen Tea Towels (2)', '16.00', 3, false],
        ['HK-004', 'Chef Knife 20cm', '95.00', 3, false],
        ['HK-005', 'Ceramic Mug', '12.00', 3, false],
        ['BK-001', 'Field Guide to Mountain Birds', '27.00', 4, true],
        ['BK-002', 'The Slow Kitchen', '31.00', 4, false],
        ['BK-003', 'Maps and Territories', '22.00', 4, false],
        ['BK-004', 'Running Light', '18.50', 4, false],
        ['BK-005', 'A Short History of Tea', '14.00', 4, false],
    ];

    /** Inserts the catalog unless products already exist (caller holds the lock and a transaction). */
    public static function seed(PDO $pdo): void
    {
        if ((int) $pdo->query('SELECT COUNT(*) FROM products')->fetchColumn() > 0) {
            return;
        }
        $category = $pdo->prepare('INSERT IGNORE INTO categories (id, name, url_key, position) VALUES (?, ?, ?, ?)');
        foreach (self::CATEGORIES as $id => [$name, $urlKey]) {
            $category->execute([$id, $name, $urlKey, $id]);
        }
        $product = $pdo->prepare(
            'INSERT INTO products (id, sku, name, description, price, category_id, featured) VALUES (?, ?, ?, ?, ?, ?, ?)'
        );
        foreach (self::PRODUCTS as $i => [$sku, $name, $price, $categoryId, $featured]) {
            $description = sprintf('%s from the Triplane demo catalog (%s).', $name, self::CATEGORIES[$categoryId][0]);
            $product->execute([$i + 1, $sku, $name, $description, $price, $categoryId, $featured ? 1 : 0]);
        }
    }
}
