<?php

declare(strict_types=1);

namespace Demo;

use PDO;

/** Orders and their items in MariaDB. Status goes pending → processed (by bin/consume-orders.php). */
final class Orders
{
    public const PENDING = 'pending';
    public const PROCESSED = 'processed';

    public function __construct(private readonly PDO $pdo)
    {
    }

    /**
     * Creates a pending order from cart lines in one transaction, at current catalog prices.
     *
     * @param array<int, int> $cart product id => qty
     * @param array<int, array{id: int, sku: string, name: string, price: string}> $products keyed by id
     */
    public function create(array $cart, array $products): int
    {
        $totalCents = 0;
        $count = 0;
        foreach ($cart as $productId => $qty) {
            $totalCents += self::cents($products[$productId]['price']) * $qty;
            $count += $qty;
        }
        $this->pdo->beginTransaction();
        try {
            $this->pdo->prepare('INSERT INTO orders (status, grand_total, item_count) VALUES (?, ?, ?)')
                ->execute([self::PENDING, self::money($totalCents), $count]);
            $orderId = (int) $this->pdo->lastInsertId();
            $item = $this->pdo->prepare(
                'INSERT INTO order_items (order_id, product_id, sku, name, price, qty) VALUES (?, ?, ?, ?, ?, ?)'
            );
            foreach ($cart as $productId => $qty) {
                $p = $products[$productId];
                $item->execute([$orderId, $p['id'], $p['sku'], $p['name'], $p['price'], $qty]);
            }
            $this->pdo->commit();
        } catch (\Throwable $e) {
            $this->pdo->rollBack();
            throw $e;
        }
        return $orderId;
    }

    /** @return array{id: int, status: string, grand_total: string, item_count: int, created_at: string, processed_at: ?string}|null */
    public function find(int $id): ?array
    {
        $stmt = $this->pdo->prepare('SELECT id, status, grand_total, item_count, created_at, processed_at FROM orders WHERE id = ?');
        $stmt->execute([$id]);
        $row = $stmt->fetch();
        return $row === false ? null : self::normalise($row);
    }

    /**
     * Marks a pending order processed. Idempotent: an order that is already processed
     * counts as done (a redelivered message), so the caller can ack either way.
     *
     * @return 'processed'|'already-processed'|'not-found'
     */
    public function markProcessed(int $id): string
    {
        $stmt = $this->pdo->prepare('UPDATE orders SET status = ?, processed_at = NOW(3) WHERE id = ? AND status = ?');
        $stmt->execute([self::PROCESSED, $id, self::PENDING]);
        if ($stmt->rowCount() === 1) {
            return 'processed';
        }
        return $this->find($id) === null ? 'not-found' : 'already-processed';
    }

    /** @return array<string, int> status => count */
    public function countsByStatus(): array
    {
        $counts = [self::PENDING => 0, self::PROCESSED => 0];
        foreach ($this->pdo->query('SELECT status, COUNT(*) AS n FROM orders GROUP BY status') as $row) {
            $counts[(string) $row['status']] = (int) $row['n'];
        }
        return $counts;
    }

    /** @return list<array{id: int, status: string, grand_total: string, item_count: int, created_at: string, processed_at: ?string}> */
    public function recent(int $limit = 20): array
    {
        $stmt = $this->pdo->prepare(
            'SELECT id, status, grand_total, item_count, created_at, processed_at FROM orders ORDER BY id DESC LIMIT ?'
        );
        $stmt->bindValue(1, $limit, PDO::PARAM_INT);
        $stmt->execute();
        return array_map(self::normalise(...), $stmt->fetchAll());
    }

    /** "12.50" → 1250, exact for DECIMAL(12,2) strings. */
    public static function cents(string $price): int
    {
        [$units, $fraction] = array_pad(explode('.', $price, 2), 2, '0');
        return (int) $units * 100 + (int) str_pad(substr($fraction, 0, 2), 2, '0');
    }

    public static function money(int $cents): string
    {
        return sprintf('%d.%02d', intdiv($cents, 100), $cents % 100);
    }

    /** MariaDB DATETIME(3) "2024-05-01 12:00:00.123" (UTC session) → ISO 8601 "2024-05-01T12:00:00.123Z". */
    public static function isoTime(?string $datetime): ?string
    {
        if ($datetime === null) {
            return null;
        }
        return str_replace(' ', 'T', $datetime) . 'Z';
    }

    /** @param array<string, mixed> $row */
    private static function normalise(array $row): array
    {
        return [
            'id' => (int) $row['id'],
            'status' => (string) $row['status'],
            'grand_total' => (string) $row['grand_total'],
            'item_count' => (int) $row['item_count'],
            'created_at' => (string) self::isoTime((string) $row['created_at']),
            'processed_at' => self::isoTime($row['processed_at'] === null ? null : (string) $row['processed_at']),
        ];
    }
}
