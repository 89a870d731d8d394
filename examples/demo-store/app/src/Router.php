<?php

declare(strict_types=1);

namespace Demo;

/** Maps method + path onto a Store handler and turns every failure into a proper status. */
final class Router
{
    /** [method, path regex, handler method]; captured groups become string arguments. */
    public const ROUTES = [
        ['GET', '#^/$#', 'home'],
        ['GET', '#^/category/([^/]+)$#', 'category'],
        ['GET', '#^/product/([^/]+)$#', 'product'],
        ['GET', '#^/cart$#', 'cart'],
        ['POST', '#^/cart/add$#', 'cartAdd'],
        ['POST', '#^/checkout$#', 'checkout'],
        ['GET', '#^/order/([^/]+)$#', 'order'],
        ['GET', '#^/admin$#', 'admin'],
        ['POST', '#^/admin/product/([^/]+)$#', 'adminProduct'],
        // nginx answers /media/ from the volume and hands misses to pub/get.php (Magento's media
        // entry point), which forwards here: that is how POST /media/upload reaches the router.
        ['POST', '#^/media/upload$#', 'mediaUpload'],
    ];

    public function __construct(private readonly Store $store)
    {
    }

    public function dispatch(Request $request): Response
    {
        try {
            return $this->route($request);
        } catch (HttpError $e) {
            return self::error($request, $e->status, $e->getMessage(), $e->details, $e->headers);
        } catch (DatabaseUnavailable) {
            return self::error($request, 503, 'database unavailable', [], ['Retry-After' => '5']);
        } catch (\Throwable $e) {
            error_log(sprintf(
                'demo-store: %s %s failed: %s: %s at %s:%d',
                $request->method,
                $request->path,
                $e::class,
                $e->getMessage(),
                $e->getFile(),
                $e->getLine()
            ));
            return self::error($request, 500, 'internal error');
        }
    }

    private function route(Request $request): Response
    {
        $method = $request->method === 'HEAD' ? 'GET' : $request->method;
        $allowed = [];
        foreach (self::ROUTES as [$routeMethod, $pattern, $handler]) {
            if (preg_match($pattern, $request->path, $m) !== 1) {
                continue;
            }
            if ($routeMethod !== $method) {
                $allowed[] = $routeMethod === 'GET' ? 'GET, HEAD' : $routeMethod;
                continue;
            }
            $params = array_map('rawurldecode', array_slice($m, 1));
            return $this->store->{$handler}($request, ...$params);
        }
        if ($allowed !== []) {
            throw HttpError::methodNotAllowed(...$allowed);
        }
        throw HttpError::notFound('page not found');
    }

    /**
     * Errors are never cacheable. API-style requests (POSTs, /order/…) get JSON unless a
     * browser form posted them; pages get HTML unless the client asked for JSON.
     *
     * @param array<string, scalar|null> $details
     * @param array<string, string> $headers
     */
    public static function error(Request $request, int $status, string $message, array $details = [], array $headers = []): Response
    {
        $api = $request->method === 'POST' || str_starts_with($request->path, '/order/');
        $json = $api ? !$request->wantsHtml() : $request->wantsJson();
        $response = $json
            ? Response::json(['error' => $message] + $details, $status)
            : Response::html(View::errorPage($status, $message), $status);
        foreach ($headers as $name => $value) {
            $response->withHeader($name, $value);
        }
        return $response;
    }
}
