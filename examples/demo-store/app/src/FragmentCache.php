<?php

declare(strict_types=1);

namespace Demo;

/**
 * Block-level HTML cache in the Redis `cache` partition (Magento's block cache). A
 * fragment is stored with the cache tags of what it shows, so a page that embeds a
 * cached fragment can still list them in X-Magento-Tags. A Redis outage degrades to
 * rendering every time; it never fails the page.
 */
final class FragmentCache
{
    public const TTL = 3600;

    /** How the last fragment was obtained: 'hit' or 'miss'. */
    public string $lastStatus = 'miss';

    /**
     * @param \Closure(): array{html: string, tags: list<string>} $render
     * @return array{html: string, tags: list<string>}
     */
    public function remember(string $key, \Closure $render): array
    {
        $redis = null;
        try {
            $redis = RedisPartitions::get('cache');
            $fragment = self::decode($redis->get('fragment:' . $key));
            if ($fragment !== null) {
                $this->lastStatus = 'hit';
                return $fragment;
            }
        } catch (\RedisException $e) {
            error_log('demo-store: fragment cache read failed: ' . $e->getMessage());
            $redis = null;
        }
        $this->lastStatus = 'miss';
        $fragment = $render();
        if ($redis !== null) {
            try {
                $redis->setex('fragment:' . $key, self::TTL, json_encode($fragment, JSON_THROW_ON_ERROR));
            } catch (\RedisException $e) {
                error_log('demo-store: fragment cache write failed: ' . $e->getMessage());
            }
        }
        return $fragment;
    }

    /** @return array{html: string, tags: list<string>}|null */
    private static function decode(mixed $stored): ?array
    {
        if (!is_string($stored)) {
            return null;
        }
        $data = json_decode($stored, true);
        if (!is_array($data) || !is_string($data['html'] ?? null) || !is_array($data['tags'] ?? null)) {
            return null;
        }
        return ['html' => $data['html'], 'tags' => array_values(array_filter($data['tags'], 'is_string'))];
    }
}
