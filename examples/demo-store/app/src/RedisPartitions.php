<?php

declare(strict_types=1);

namespace Demo;

/**
 * Connections (phpredis) to the store's Redis partitions: cache, page and session.
 * The session partition is used by PHP's session handler as configured by the php-fpm
 * image; this class only talks to it for diagnostics.
 */
final class RedisPartitions
{
    /** @var array<string, \Redis> */
    private static array $connections = [];

    /** @param 'cache'|'page'|'session' $partition */
    public static function get(string $partition, float $timeout = 1.0): \Redis
    {
        if (isset(self::$connections[$partition])) {
            return self::$connections[$partition];
        }
        $redis = new \Redis();
        $host = Config::redisHost($partition);
        if (!@$redis->connect($host, Config::REDIS_PORT, $timeout, null, 0, $timeout)) {
            throw new \RedisException('cannot connect to redis-' . $partition);
        }
        $redis->setOption(\Redis::OPT_READ_TIMEOUT, $timeout);
        $redis->setOption(\Redis::OPT_PREFIX, Config::store() . ':');
        return self::$connections[$partition] = $redis;
    }
}
