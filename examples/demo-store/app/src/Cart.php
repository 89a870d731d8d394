<?php

declare(strict_types=1);

namespace Demo;

/**
 * The shopping cart, kept in the PHP session. Where sessions live is the php-fpm
 * image's business (session.save_handler=redis → the redis-session partition);
 * this class never configures it.
 */
final class Cart
{
    public const MAX_LINES = 50;
    public const MAX_QTY = 99;

    /** @var array<int, int> product id => qty */
    private array $lines = [];
    private bool $writable = false;

    /**
     * Opens the session. Read-only access does not create a session (no cookie is sent)
     * when the visitor has none yet, and does not hold the session lock.
     */
    public static function open(Request $request, bool $write): self
    {
        $cart = new self();
        if (!$write && !$request->hasCookie(session_name())) {
            return $cart;
        }
        session_cache_limiter(''); // cache headers are the Response's job
        try {
            $started = $write ? session_start() : session_start(['read_and_close' => true]);
        } catch (\ErrorException | \RedisException $e) {
            error_log('demo-store: session_start failed: ' . $e->getMessage());
            $started = false;
        }
        if (!$started) {
            throw HttpError::unavailable('session storage');
        }
        $cart->writable = $write;
        $stored = $_SESSION['cart'] ?? [];
        foreach (is_array($stored) ? $stored : [] as $id => $qty) {
            if (is_int($id) && is_int($qty) && $id > 0 && $qty > 0) {
                $cart->lines[$id] = min($qty, self::MAX_QTY);
            }
        }
        return $cart;
    }

    /** @return array<int, int> product id => qty */
    public function lines(): array
    {
        return $this->lines;
    }

    public function add(int $productId, int $qty): void
    {
        if (!isset($this->lines[$productId]) && count($this->lines) >= self::MAX_LINES) {
            throw new HttpError(400, sprintf('cart is full (at most %d different products)', self::MAX_LINES), ['field' => 'product_id', 'value' => (string) $productId]);
        }
        $this->lines[$productId] = min(($this->lines[$productId] ?? 0) + $qty, self::MAX_QTY);
        $this->save();
    }

    /** Drops lines whose product no longer exists. @param array<int, mixed> $known keyed by id */
    public function keepOnly(array $known): void
    {
        $kept = array_intersect_key($this->lines, $known);
        if ($kept !== $this->lines) {
            $this->lines = $kept;
            if ($this->writable) {
                $this->save();
            }
        }
    }

    public function clear(): void
    {
        $this->lines = [];
        $this->save();
    }

    public function itemCount(): int
    {
        return array_sum($this->lines);
    }

    /** Which session handler PHP uses (the image configures redis). */
    public static function saveHandler(): string
    {
        return (string) ini_get('session.save_handler');
    }

    private function save(): void
    {
        if (!$this->writable) {
            throw new \LogicException('cart opened read-only');
        }
        $_SESSION['cart'] = $this->lines;
    }
}
