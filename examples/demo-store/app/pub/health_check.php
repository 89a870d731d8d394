<?php

declare(strict_types=1);

/*
 * Magento's health check URL: 200 "OK" when PHP runs, MariaDB answers SELECT 1 and the
 * Redis cache partition answers PING; otherwise 503 naming the failing part(s).
 * No retries and short timeouts: a probe must answer quickly.
 */

require __DIR__ . '/../src/bootstrap.php';

use Demo\Config;
use Demo\Database;

$failures = [];

try {
    $db = Config::database();
    $pdo = @new PDO(
        sprintf('mysql:host=%s;port=%d;dbname=%s', $db['host'], $db['port'], $db['name']),
        $db['user'],
        $db['password'],
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_TIMEOUT => 2]
    );
    if ((string) $pdo->query('SELECT 1')->fetchColumn() !== '1') {
        $failures[] = 'database: unexpected answer to SELECT 1';
    }
} catch (Throwable $e) {
    error_log('demo-store health_check: database: ' . $e->getMessage());
    $code = $e instanceof PDOException ? Database::driverCode($e) : 0;
    $failures[] = $code > 0 ? sprintf('database: unavailable (error %d)', $code) : 'database: unavailable';
}

try {
    $redis = new Redis();
    if (!@$redis->connect(Config::redisHost('cache'), Config::REDIS_PORT, 1.0, null, 0, 1.0)) {
        throw new RedisException('connect failed');
    }
    $pong = $redis->ping();
    if ($pong !== true && $pong !== '+PONG' && $pong !== 'PONG') {
        $failures[] = 'redis-cache: unexpected answer to PING';
    }
} catch (Throwable $e) {
    error_log('demo-store health_check: redis-cache: ' . $e->getMessage());
    $failures[] = 'redis-cache: unavailable';
}

http_response_code($failures === [] ? 200 : 503);
header('Content-Type: text/plain; charset=utf-8');
header('Cache-Control: no-store');
echo $failures === [] ? "OK\n" : implode("\n", $failures) . "\n";
