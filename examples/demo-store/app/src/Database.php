<?php

declare(strict_types=1);

namespace Demo;

use PDO;
use PDOException;

/**
 * MariaDB access (pdo_mysql): one connection per request, retried briefly while the
 * database container is still starting, and the schema/seed bootstrap.
 */
final class Database
{
    /** Client error codes that mean "the server is not reachable (yet)". */
    private const RETRYABLE = [2002, 2003, 2005, 2006, 2013, 1040];

    private static ?PDO $pdo = null;

    /**
     * @param int $attempts connection attempts; the waits between them double from 250 ms
     *                      (5 attempts ≈ 4 s in all, well inside PHP_MAX_EXECUTION_TIME)
     */
    public static function connection(int $attempts = 5): PDO
    {
        if (self::$pdo !== null) {
            return self::$pdo;
        }
        $db = Config::database();
        $dsn = sprintf('mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4', $db['host'], $db['port'], $db['name']);
        $options = [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
            PDO::ATTR_EMULATE_PREPARES => false,
            PDO::ATTR_STRINGIFY_FETCHES => false,
            PDO::ATTR_TIMEOUT => 3,
            // Timestamps are stored and reported in UTC whatever the server's zone is.
            PDO::MYSQL_ATTR_INIT_COMMAND => "SET time_zone = '+00:00'",
        ];
        $delayMs = 250;
        for ($attempt = 1; ; $attempt++) {
            try {
                return self::$pdo = @new PDO($dsn, $db['user'], $db['password'], $options);
            } catch (PDOException $e) {
                $code = self::driverCode($e);
                if ($attempt >= $attempts || !in_array($code, self::RETRYABLE, true)) {
                    error_log(sprintf('demo-store: database connection failed after %d attempt(s): %s', $attempt, $e->getMessage()));
                    throw new DatabaseUnavailable('database unavailable', $code, $e);
                }
                usleep($delayMs * 1000);
                $delayMs *= 2;
            }
        }
    }

    /** The MySQL error number inside a PDOException ("SQLSTATE[HY000] [2002] …"). */
    public static function driverCode(PDOException $e): int
    {
        if (is_array($e->errorInfo) && isset($e->errorInfo[1]) && is_int($e->errorInfo[1])) {
            return $e->errorInfo[1];
        }
        return preg_match('/\[(\d{4})\]/', $e->getMessage(), $m) === 1 ? (int) $m[1] : 0;
    }

    /**
     * Creates the tables and seeds the catalog once. Cheap on the hot path (one indexed
     * SELECT); the slow path runs under a MariaDB named lock so that concurrent first
     * requests from several pods seed exactly once.
     */
    public static function ensureSchema(PDO $pdo): void
    {
        if (self::isBootstrapped($pdo)) {
            return;
        }
        $lock = 'triplane_demo_bootstrap_' . Config::store();
        $got = $pdo->query('SELECT GET_LOCK(' . $pdo->quote($lock) . ', 30)')->fetchColumn();
        if ((string) $got !== '1') {
            throw HttpError::unavailable('database bootstrap lock');
        }
        try {
            if (self::isBootstrapped($pdo)) {
                return; // another request finished it while we waited
            }
            foreach (Schema::TABLES as $ddl) {
                $pdo->exec($ddl);
            }
            $pdo->beginTransaction();
            try {
                Schema::seed($pdo);
                $pdo->prepare('INSERT INTO store_meta (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)')
                    ->execute(['schema_version', (string) Schema::VERSION]);
                $pdo->commit();
            } catch (\Throwable $e) {
                $pdo->rollBack();
                throw $e;
            }
        } finally {
            $pdo->query('SELECT RELEASE_LOCK(' . $pdo->quote($lock) . ')');
        }
    }

    private static function isBootstrapped(PDO $pdo): bool
    {
        try {
            $version = $pdo->query("SELECT value FROM store_meta WHERE name = 'schema_version'")->fetchColumn();
        } catch (PDOException $e) {
            if (self::driverCode($e) === 1146) { // table doesn't exist
                return false;
            }
            throw $e;
        }
        return $version !== false && (int) $version >= Schema::VERSION;
    }
}
