<?php

declare(strict_types=1);

namespace Demo;

use PDO;

/**
 * Catalog reads and the admin product update.
 *
 * @phpstan-type Category array{id: int, name: string, url_key: string, product_count: int}
 * @phpstan-type Product array{id: int, sku: string, name: string, description: string, price: string, category_id: int, featured: int, updated_at: string}
 */
final class Catalog
{
    private const PRODUCT_COLUMNS = 'p.id, p.sku, p.name, p.description, p.price, p.category_id, p.featured, p.updated_at';

    public function __construct(private readonly PDO $pdo)
    {
    }

    /** @return list<Category> */
    public function categories(): array
    {
        $rows = $this->pdo->query(
            'SELECT c.id, c.name, c.url_key, COUNT(p.id) AS product_count
               FROM categories c LEFT JOIN products p ON p.category_id = c.id
              GROUP BY c.id, c.name, c.url_key, c.position
              ORDER BY c.position, c.id'
        )->fetchAll();
        return array_map(self::normaliseCategory(...), $rows);
    }

    /** @return Category|null */
    public function category(int $id): ?array
    {
        $stmt = $this->pdo->prepare(
            'SELECT c.id, c.name, c.url_key, COUNT(p.id) AS product_count
               FROM categories c LEFT JOIN products p ON p.category_id = c.id
              WHERE c.id = ? GROUP BY c.id, c.name, c.url_key'
        );
        $stmt->execute([$id]);
        $row = $stmt->fetch();
        return $row === false ? null : self::normaliseCategory($row);
    }

    /** @return list<Product> */
    public function featured(int $limit = 8): array
    {
        $stmt = $this->pdo->prepare('SELECT ' . self::PRODUCT_COLUMNS . ' FROM products p WHERE p.featured = 1 ORDER BY p.id LIMIT ?');
        $stmt->bindValue(1, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return array_map(self::normaliseProduct(...), $stmt->fetchAll());
    }

    /** @return list<Product> */
    public function productsInCategory(int $categoryId): array
    {
        $stmt = $this->pdo->prepare('SELECT ' . self::PRODUCT_COLUMNS . ' FROM products p WHERE p.category_id = ? ORDER BY p.id');
        $stmt->execute([$categoryId]);
        return array_map(self::normaliseProduct(...), $stmt->fetchAll());
    }

    /** @return Product|null */
    public function product(int $id): ?array
    {
        $stmt = $this->pdo->prepare('SELECT ' . self::PRODUCT_COLUMNS . ' FROM products p WHERE p.id = ?');
        $stmt->execute([$id]);
        $row = $stmt->fetch();
        return $row === false ? null : self::normaliseProduct($row);
    }

    /**
     * @param list<int> $ids
     * @return array<int, Product> keyed by id
     */
    public function productsById(array $ids): array
    {
        if ($ids === []) {
            return [];
        }
        $placeholders = implode(',', array_fill(0, count($ids), '?'));
        $stmt = $this->pdo->prepare('SELECT ' . self::PRODUCT_COLUMNS . " FROM products p WHERE p.id IN ($placeholders)");
        $stmt->execute(array_values($ids));
        $products = [];
        foreach ($stmt->fetchAll() as $row) {
            $product = self::normaliseProduct($row);
            $products[$product['id']] = $product;
        }
        return $products;
    }

    /** @return list<Product> */
    public function allProducts(): array
    {
        return array_map(
            self::normaliseProduct(...),
            $this->pdo->query('SELECT ' . self::PRODUCT_COLUMNS . ' FROM products p ORDER BY p.id')->fetchAll()
        );
    }

    /** @return bool false when the product does not exist */
    public function updateProduct(int $id, string $name, string $price): bool
    {
        if ($this->product($id) === null) {
            return false;
        }
        $stmt = $this->pdo->prepare('UPDATE products SET name = ?, price = ? WHERE id = ?');
        $stmt->execute([$name, $price, $id]);
        return true;
    }

    /** @param array<string, mixed> $row */
    private static function normaliseCategory(array $row): array
    {
        return [
            'id' => (int) $row['id'],
            'name' => (string) $row['name'],
            'url_key' => (string) $row['url_key'],
            'product_count' => (int) $row['product_count'],
        ];
    }

    /** @param array<string, mixed> $row */
    private static function normaliseProduct(array $row): array
    {
        return [
            'id' => (int) $row['id'],
            'sku' => (string) $row['sku'],
            'name' => (string) $row['name'],
            'description' => (string) $row['description'],
            'price' => (string) $row['price'], // DECIMAL(12,2) arrives as an exact string
            'category_id' => (int) $row['category_id'],
            'featured' => (int) $row['featured'],
            'updated_at' => (string) Orders::isoTime((string) $row['updated_at']),
        ];
    }
}
