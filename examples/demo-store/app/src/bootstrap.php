<?php

declare(strict_types=1);

/*
 * Shared bootstrap for the web entry points (pub/*.php) and the CLI scripts (bin/*.php):
 * a tiny PSR-4-style autoloader for the Demo\ namespace and strict error handling.
 */

namespace Demo;

spl_autoload_register(static function (string $class): void {
    if (!str_starts_with($class, __NAMESPACE__ . '\\')) {
        return;
    }
    $relative = str_replace('\\', '/', substr($class, strlen(__NAMESPACE__) + 1));
    $file = __DIR__ . '/' . $relative . '.php';
    if (is_file($file)) {
        require $file;
    }
});

// Turn warnings and notices into exceptions so that nothing half-fails silently.
// Errors silenced with @ are respected (error_reporting() no longer contains them).
set_error_handler(static function (int $severity, string $message, string $file, int $line): bool {
    if ((error_reporting() & $severity) === 0) {
        return false;
    }
    throw new \ErrorException($message, 0, $severity, $file, $line);
});

error_reporting(E_ALL);

if (PHP_SAPI !== 'cli') {
    // Whatever the image's php.ini says: errors go to the log, never into a response.
    ini_set('display_errors', '0');
    ini_set('log_errors', '1');
}
