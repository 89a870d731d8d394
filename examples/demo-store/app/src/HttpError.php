<?php

declare(strict_types=1);

namespace Demo;

/**
 * An error that maps onto an HTTP status. Its message is safe to show to the client;
 * anything else that is thrown becomes a generic 500 and goes to the log only.
 */
final class HttpError extends \RuntimeException
{
    /** @param array<string, scalar|null> $details extra JSON fields (e.g. field, value) */
    public function __construct(
        public readonly int $status,
        string $message,
        public readonly array $details = [],
        /** @var array<string, string> */
        public readonly array $headers = [],
    ) {
        parent::__construct($message);
    }

    public static function notFound(string $message = 'not found'): self
    {
        return new self(404, $message);
    }

    /**
     * 400 naming the offending field and the value received (shortened, never trusted:
     * it is JSON- or HTML-escaped when rendered).
     */
    public static function badInput(string $field, mixed $value, string $expected): self
    {
        $shown = match (true) {
            $value === null => null,
            is_scalar($value) => self::shorten((string) $value),
            default => get_debug_type($value),
        };
        $message = $shown === null
            ? sprintf('missing %s (expected %s)', $field, $expected)
            : sprintf('invalid %s: "%s" (expected %s)', $field, $shown, $expected);
        return new self(400, $message, ['field' => $field, 'value' => $shown]);
    }

    public static function methodNotAllowed(string ...$allowed): self
    {
        return new self(405, 'method not allowed', [], ['Allow' => implode(', ', $allowed)]);
    }

    public static function unavailable(string $what): self
    {
        return new self(503, $what . ' unavailable', [], ['Retry-After' => '5']);
    }

    private static function shorten(string $value): string
    {
        if (!mb_check_encoding($value, 'UTF-8')) {
            $value = mb_convert_encoding($value, 'UTF-8', 'UTF-8');
        }
        return mb_strlen($value) > 64 ? mb_substr($value, 0, 64) . '…' : $value;
    }
}
