<?php

declare(strict_types=1);

namespace Demo;

/** The parts of the current HTTP request the handlers need, read once from the SAPI. */
final class Request
{
    /** @var array<string, mixed>|null */
    private ?array $input = null;

    /**
     * @param array<string, mixed> $query
     * @param array<string, mixed> $post
     * @param array<string, string> $headers lower-case names
     */
    public function __construct(
        public readonly string $method,
        public readonly string $path,
        public readonly array $query = [],
        private readonly array $post = [],
        private readonly array $headers = [],
        private readonly string $rawBody = '',
        /** @var array<string, mixed> */
        private readonly array $cookies = [],
        /** @var array<string, mixed> $_FILES */
        public readonly array $files = [],
    ) {
    }

    public static function fromGlobals(): self
    {
        $headers = [];
        foreach ($_SERVER as $key => $value) {
            if (is_string($value) && str_starts_with((string) $key, 'HTTP_')) {
                $headers[strtolower(str_replace('_', '-', substr((string) $key, 5)))] = $value;
            }
        }
        if (isset($_SERVER['CONTENT_TYPE'])) {
            $headers['content-type'] = (string) $_SERVER['CONTENT_TYPE'];
        }
        if (isset($_SERVER['CONTENT_LENGTH'])) {
            $headers['content-length'] = (string) $_SERVER['CONTENT_LENGTH'];
        }
        $method = strtoupper((string) ($_SERVER['REQUEST_METHOD'] ?? 'GET'));
        $path = (string) (parse_url((string) ($_SERVER['REQUEST_URI'] ?? '/'), PHP_URL_PATH) ?? '/');
        $isJson = str_contains(strtolower($headers['content-type'] ?? ''), 'application/json');
        // php://input is only needed for JSON bodies (multipart is not readable there anyway).
        $raw = ($method === 'POST' && $isJson) ? (string) file_get_contents('php://input', false, null, 0, 65536) : '';
        if (!isset($headers['authorization']) && isset($_SERVER['PHP_AUTH_USER'])) {
            $headers['authorization'] = 'Basic ' . base64_encode($_SERVER['PHP_AUTH_USER'] . ':' . ($_SERVER['PHP_AUTH_PW'] ?? ''));
        }
        return new self($method, $path === '' ? '/' : $path, $_GET, $_POST, $headers, $raw, $_COOKIE, $_FILES);
    }

    public function header(string $name): string
    {
        return $this->headers[strtolower($name)] ?? '';
    }

    /**
     * POST fields, from a form (urlencoded or multipart) or from a JSON object body.
     *
     * @return array<string, mixed>
     */
    public function input(): array
    {
        if ($this->input !== null) {
            return $this->input;
        }
        if (str_contains(strtolower($this->header('content-type')), 'application/json')) {
            try {
                $decoded = json_decode($this->rawBody === '' ? '{}' : $this->rawBody, true, 8, JSON_THROW_ON_ERROR);
            } catch (\JsonException) {
                throw new HttpError(400, 'invalid JSON body', ['field' => 'body', 'value' => null]);
            }
            if (!is_array($decoded) || (array_is_list($decoded) && $decoded !== [])) {
                throw new HttpError(400, 'JSON body must be an object', ['field' => 'body', 'value' => null]);
            }
            return $this->input = $decoded;
        }
        return $this->input = $this->post;
    }

    public function field(string $name): mixed
    {
        return $this->input()[$name] ?? null;
    }

    /** A browser form post (Accept mentions text/html): answer with HTML / a redirect. */
    public function wantsHtml(): bool
    {
        return str_contains(strtolower($this->header('accept')), 'text/html');
    }

    /** GET pages are HTML unless the client asks for JSON (Accept or ?format=json). */
    public function wantsJson(): bool
    {
        if (($this->query['format'] ?? null) === 'json') {
            return true;
        }
        $accept = strtolower($this->header('accept'));
        return str_contains($accept, 'application/json') && !str_contains($accept, 'text/html');
    }

    public function hasCookie(string $name): bool
    {
        return is_string($this->cookies[$name] ?? null) && $this->cookies[$name] !== '';
    }
}
