<?php

declare(strict_types=1);

namespace Demo;

/**
 * Reads the container contract's environment (docs/containers.md). Defaults are the
 * DNS names and ports of the store network, so only secrets have to be set by hand
 * when running a container outside the driver.
 */
final class Config
{
    public const REDIS_PORT = 6379;

    public static function env(string $name, string $default = ''): string
    {
        $value = getenv($name);
        if ($value === false || $value === '') {
            return $default;
        }
        return $value;
    }

    public static function envInt(string $name, int $default): int
    {
        $value = self::env($name);
        if ($value === '' || preg_match('/^\d+$/', $value) !== 1) {
            return $default;
        }
        return (int) $value;
    }

    public static function store(): string
    {
        return self::env('TRIPLANE_STORE', 'demo');
    }

    public static function role(): string
    {
        return self::env('TRIPLANE_ROLE', 'app');
    }

    /** @return array{host: string, port: int, name: string, user: string, password: string} */
    public static function database(): array
    {
        return [
            'host' => self::env('DB_HOST', 'database'),
            'port' => self::envInt('DB_PORT', 3306),
            'name' => self::env('DB_NAME', 'store'),
            'user' => self::env('DB_USER', 'store'),
            'password' => self::env('DB_PASSWORD'),
        ];
    }

    /** @param 'cache'|'page'|'session' $partition */
    public static function redisHost(string $partition): string
    {
        return self::env('REDIS_' . strtoupper($partition) . '_HOST', 'redis-' . $partition);
    }

    /** @return array{host: string, port: int, login: string, password: string, vhost: string} */
    public static function amqp(): array
    {
        return [
            'host' => self::env('AMQP_HOST', 'rabbitmq'),
            'port' => self::envInt('AMQP_PORT', 5672),
            'login' => self::env('AMQP_USER', 'store'),
            'password' => self::env('AMQP_PASSWORD'),
            'vhost' => self::env('AMQP_VHOST', '/'),
        ];
    }

    /** @return array{host: string, port: int} */
    public static function varnish(): array
    {
        return [
            'host' => self::env('VARNISH_HOST', 'varnish'),
            'port' => self::envInt('VARNISH_PORT', 6081),
        ];
    }

    public static function mediaDir(): string
    {
        return rtrim(self::env('MEDIA_DIR', '/var/www/media'), '/');
    }

    /** Optional shared secret for the admin routes; empty means "no check" (demo default). */
    public static function adminToken(): string
    {
        return self::env('ADMIN_TOKEN');
    }
}
