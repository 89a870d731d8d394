<?php

declare(strict_types=1);

namespace Demo;

/** Input checks that throw HttpError::badInput (400) naming the field and the value. */
final class Validate
{
    public static function id(string $field, mixed $value): int
    {
        return self::intInRange($field, $value, 1, 4294967295, 'a positive integer id');
    }

    public static function qty(mixed $value): int
    {
        return self::intInRange('qty', $value, 1, 99, 'an integer from 1 to 99');
    }

    public static function intInRange(string $field, mixed $value, int $min, int $max, string $expected): int
    {
        if (is_int($value)) {
            $int = $value;
        } elseif (is_string($value) && preg_match('/^\d{1,10}$/', trim($value)) === 1) {
            $int = (int) trim($value);
        } else {
            throw HttpError::badInput($field, $value, $expected);
        }
        if ($int < $min || $int > $max) {
            throw HttpError::badInput($field, $value, $expected);
        }
        return $int;
    }

    /** A product name: 1–255 characters of valid UTF-8, no control characters. */
    public static function name(mixed $value): string
    {
        $expected = '1 to 255 characters of text';
        if (!is_string($value)) {
            throw HttpError::badInput('name', $value, $expected);
        }
        $name = trim($value);
        if ($name === '' || !mb_check_encoding($name, 'UTF-8') || mb_strlen($name) > 255
            || preg_match('/[\x00-\x1F\x7F]/', $name) === 1) {
            throw HttpError::badInput('name', $value, $expected);
        }
        return $name;
    }

    /** A price such as "12", "12.5" or "12.50", from 0 to 999999.99; returned as "12.50". */
    public static function price(mixed $value): string
    {
        $expected = 'a decimal amount from 0 to 999999.99 with at most 2 decimals';
        if (is_int($value) || is_float($value)) {
            $value = (string) $value;
        }
        if (!is_string($value) || preg_match('/^(\d{1,6})(?:\.(\d{1,2}))?$/', trim($value), $m) !== 1) {
            throw HttpError::badInput('price', $value, $expected);
        }
        return sprintf('%d.%s', (int) $m[1], str_pad($m[2] ?? '', 2, '0'));
    }
}
