<?php

declare(strict_types=1);

namespace Demo;

/** A response built by a handler and sent by the front controller. */
final class Response
{
    public const CACHE_PUBLIC = 'public, max-age=86400, s-maxage=86400';
    public const CACHE_PRIVATE = 'no-store';

    /** @param array<string, string> $headers */
    public function __construct(
        public int $status = 200,
        public array $headers = [],
        public string $body = '',
    ) {
        $this->headers += ['Cache-Control' => self::CACHE_PRIVATE];
    }

    public static function html(string $body, int $status = 200): self
    {
        return new self($status, ['Content-Type' => 'text/html; charset=utf-8'], $body);
    }

    public static function text(string $body, int $status = 200): self
    {
        return new self($status, ['Content-Type' => 'text/plain; charset=utf-8'], $body);
    }

    /** @param array<mixed> $data */
    public static function json(array $data, int $status = 200): self
    {
        $body = json_encode($data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        return new self($status, ['Content-Type' => 'application/json'], $body . "\n");
    }

    public static function redirect(string $location, int $status = 303): self
    {
        return new self($status, ['Location' => $location]);
    }

    /**
     * Full-page cacheable by Varnish, tagged for purging (Magento's X-Magento-Tags).
     *
     * @param list<string> $tags
     */
    public function cacheable(array $tags): self
    {
        $this->headers['Cache-Control'] = self::CACHE_PUBLIC;
        if ($tags !== []) {
            $this->headers['X-Magento-Tags'] = implode(',', $tags);
        }
        return $this;
    }

    public function withHeader(string $name, string $value): self
    {
        $this->headers[$name] = $value;
        return $this;
    }

    /**
     * The headers to send. A response that sets a cookie (e.g. the session cookie) is
     * made private whatever the handler said: it must never land in Varnish.
     *
     * @param list<string> $alreadySet header lines queued by PHP itself (headers_list())
     * @return array<string, string>
     */
    public function finalHeaders(array $alreadySet): array
    {
        $headers = $this->headers;
        if (self::setsCookie($alreadySet) || isset($headers['Set-Cookie'])) {
            $headers['Cache-Control'] = self::CACHE_PRIVATE;
            unset($headers['X-Magento-Tags']);
        }
        return $headers;
    }

    /** @param list<string> $alreadySet see finalHeaders() */
    public function send(array $alreadySet, bool $withBody = true): void
    {
        http_response_code($this->status);
        foreach ($this->finalHeaders($alreadySet) as $name => $value) {
            header($name . ': ' . $value);
        }
        if ($withBody) {
            echo $this->body;
        }
    }

    /** @param list<string> $headerLines */
    public static function setsCookie(array $headerLines): bool
    {
        foreach ($headerLines as $line) {
            if (stripos($line, 'set-cookie:') === 0) {
                return true;
            }
        }
        return false;
    }
}
