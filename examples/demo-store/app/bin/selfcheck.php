#!/usr/bin/env php
<?php

declare(strict_types=1);

/*
 * Self-check of the pure parts (no MariaDB, Redis, RabbitMQ or Varnish needed):
 *   php bin/selfcheck.php
 * Prints one line per check and "N passed, N failed"; exits 1 if anything failed.
 */

require __DIR__ . '/../src/bootstrap.php';

use Demo\CacheTags;
use Demo\HttpError;
use Demo\Media;
use Demo\OrderQueue;
use Demo\Orders;
use Demo\Request;
use Demo\Response;
use Demo\Router;
use Demo\Store;
use Demo\Validate;

$passed = 0;
$failed = 0;

function check(string $name, callable $test): void
{
    global $passed, $failed;
    try {
        $test();
        $passed++;
        echo "ok   $name\n";
    } catch (Throwable $e) {
        $failed++;
        echo "FAIL $name: ", $e::class, ': ', $e->getMessage(), "\n";
    }
}

function same(mixed $expected, mixed $actual): void
{
    if ($expected !== $actual) {
        throw new RuntimeException(sprintf('expected %s, got %s', var_export($expected, true), var_export($actual, true)));
    }
}

/** Asserts that $fn throws an HttpError with $status (and, if given, naming $field). */
function rejects(int $status, callable $fn, ?string $field = null): HttpError
{
    try {
        $fn();
    } catch (HttpError $e) {
        same($status, $e->status);
        if ($field !== null) {
            same($field, $e->details['field'] ?? null);
        }
        return $e;
    }
    throw new RuntimeException("expected HttpError $status, nothing thrown");
}

// ---- cache tags ----------------------------------------------------------------------

check('product page tags', function (): void {
    same(['cat_p_1', 'cat_p', 'cat_c_2', 'cat_c'], CacheTags::forPage([1], [2]));
});
check('tags are deduplicated and grouped, fragment tags merged', function (): void {
    same(
        ['cat_p_3', 'cat_p_1', 'cat_p', 'cat_c_2', 'cat_c_1', 'cat_c', 'cms_b'],
        CacheTags::forPage([3, 1, 3], [2], ['cat_c_1', 'cat_c_2', 'cat_c', 'cms_b'])
    );
});
check('no entities, no generic tag', function (): void {
    same([], CacheTags::forPage([], []));
    same(['cms_b'], CacheTags::forPage([], [], ['cms_b']));
});
check('Magento purge pattern', function (): void {
    same('((^|,)cat_p_42(,|$))', CacheTags::purgePattern(CacheTags::product(42)));
    $pattern = '/' . CacheTags::purgePattern('cat_p_4') . '/';
    same(1, preg_match($pattern, 'cat_p_4,cat_p,cat_c_1'));
    same(1, preg_match($pattern, 'cat_p_1,cat_p_4'));
    same(0, preg_match($pattern, 'cat_p_41,cat_p_14,cat_p'));
});
check('purge pattern refuses regex metacharacters', function (): void {
    try {
        CacheTags::purgePattern('.*');
    } catch (InvalidArgumentException) {
        return;
    }
    throw new RuntimeException('accepted .*');
});

// ---- media file names ------------------------------------------------------------------

check('plain names are kept', function (): void {
    same('photo.png', Media::sanitiseName('photo.png'));
    same('Summer_2024-v2.jpg', Media::sanitiseName('Summer_2024-v2.JPG')); // extension lower-cased
});
check('odd characters are replaced', function (): void {
    same('my-holiday-photo.jpeg', Media::sanitiseName('my holiday photo!.jpeg'));
    same('caf.txt', Media::sanitiseName('café.txt'));
});
foreach (['../../etc/passwd.txt', '..\\win.ini.txt', 'a/b.png', '/abs.png', '.htaccess', "nul\0byte.png", '..', '.', '', 'x..png'] as $bad) {
    check('rejects path trick ' . json_encode($bad, JSON_UNESCAPED_SLASHES), function () use ($bad): void {
        rejects(400, fn () => Media::sanitiseName($bad), 'file');
    });
}
foreach (['shell.php', 'page.html', 'vector.svg', 'noext', 'archive.tar.gz', 'x.php.'] as $bad) {
    check('rejects extension ' . json_encode($bad, JSON_UNESCAPED_SLASHES), function () use ($bad): void {
        rejects(400, fn () => Media::sanitiseName($bad), 'file');
    });
}
check('long names are shortened, extension kept', function (): void {
    $name = Media::sanitiseName(str_repeat('a', 200) . '.png');
    same(Media::MAX_NAME_LENGTH, strlen($name));
    same('.png', substr($name, -4));
});
check('php.ini sizes', function (): void {
    ini_set('memory_limit', '256M');
    same(256 * 1024 * 1024, Media::iniBytes('memory_limit'));
});

// ---- validation ----------------------------------------------------------------------

check('ids', function (): void {
    same(7, Validate::id('product_id', '7'));
    same(7, Validate::id('product_id', 7));
    $e = rejects(400, fn () => Validate::id('product_id', 'abc'), 'product_id');
    same('abc', $e->details['value']);
    same('invalid product_id: "abc" (expected a positive integer id)', $e->getMessage());
    rejects(400, fn () => Validate::id('product_id', '0'), 'product_id');
    rejects(400, fn () => Validate::id('product_id', '-1'), 'product_id');
    rejects(400, fn () => Validate::id('product_id', '1e3'), 'product_id');
    $missing = rejects(400, fn () => Validate::id('product_id', null), 'product_id');
    same('missing product_id (expected a positive integer id)', $missing->getMessage());
});
check('qty', function (): void {
    same(3, Validate::qty('3'));
    rejects(400, fn () => Validate::qty('100'), 'qty');
    rejects(400, fn () => Validate::qty('2.5'), 'qty');
    rejects(400, fn () => Validate::qty(['1']), 'qty');
});
check('price', function (): void {
    same('12.50', Validate::price('12.5'));
    same('12.00', Validate::price('12'));
    same('0.99', Validate::price(' 0.99 '));
    same('12.50', Validate::price(12.5));
    rejects(400, fn () => Validate::price('-1'), 'price');
    rejects(400, fn () => Validate::price('1.234'), 'price');
    rejects(400, fn () => Validate::price('1,50'), 'price');
    rejects(400, fn () => Validate::price('1000000'), 'price');
});
check('name', function (): void {
    same('New name', Validate::name('  New name '));
    rejects(400, fn () => Validate::name(''), 'name');
    rejects(400, fn () => Validate::name(str_repeat('x', 256)), 'name');
    rejects(400, fn () => Validate::name("tab\there"), 'name');
    rejects(400, fn () => Validate::name("\xff\xfe"), 'name');
});
check('long values are shortened in messages', function (): void {
    $e = rejects(400, fn () => Validate::qty(str_repeat('9', 500)), 'qty');
    same(true, mb_strlen((string) $e->details['value']) <= 65);
});

// ---- money, queue messages -------------------------------------------------------------

check('money in cents', function (): void {
    same(1250, Orders::cents('12.50'));
    same(1205, Orders::cents('12.05'));
    same(1200, Orders::cents('12'));
    same('12.05', Orders::money(1205));
    same('0.07', Orders::money(7));
    same('2024-05-01T12:00:00.123Z', Orders::isoTime('2024-05-01 12:00:00.123'));
    same(null, Orders::isoTime(null));
});
check('order messages', function (): void {
    same('{"order_id":12}', OrderQueue::encode(12));
    same(12, OrderQueue::decode('{"order_id":12}'));
    same(null, OrderQueue::decode('{"order_id":"12"}'));
    same(null, OrderQueue::decode('{"order_id":0}'));
    same(null, OrderQueue::decode('not json'));
    same(null, OrderQueue::decode('[12]'));
});

// ---- responses and routing (no backend reached) ----------------------------------------

check('cookies make a response private', function (): void {
    $r = Response::html('x')->cacheable(['cat_p_1', 'cat_p']);
    same(Response::CACHE_PUBLIC, $r->finalHeaders([])['Cache-Control']);
    same('cat_p_1,cat_p', $r->finalHeaders([])['X-Magento-Tags']);
    $withCookie = $r->finalHeaders(['Set-Cookie: PHPSESSID=abc; path=/']);
    same('no-store', $withCookie['Cache-Control']);
    same(false, isset($withCookie['X-Magento-Tags']));
});
check('responses are private by default', function (): void {
    same('no-store', Response::json(['a' => 1])->headers['Cache-Control']);
    same('no-store', Response::text('OK')->headers['Cache-Control']);
});
check('JSON body is an object', function (): void {
    $r = new Request('POST', '/cart/add', [], [], ['content-type' => 'application/json'], '{"product_id": 3, "qty": "2"}');
    same(3, $r->field('product_id'));
    same('2', $r->field('qty'));
    rejects(400, fn () => (new Request('POST', '/x', [], [], ['content-type' => 'application/json'], '[1]'))->input());
    rejects(400, fn () => (new Request('POST', '/x', [], [], ['content-type' => 'application/json'], '{'))->input());
});
check('content negotiation', function (): void {
    same(true, (new Request('GET', '/cart', [], [], ['accept' => 'application/json']))->wantsJson());
    same(true, (new Request('GET', '/cart', ['format' => 'json']))->wantsJson());
    same(false, (new Request('GET', '/cart', [], [], ['accept' => 'text/html,application/json;q=0.9']))->wantsJson());
    same(false, (new Request('GET', '/cart', [], [], ['accept' => '*/*']))->wantsJson());
    same(true, (new Request('POST', '/cart/add', [], [], ['accept' => 'text/html,*/*']))->wantsHtml());
});

$router = new Router(new Store());
check('unknown path is 404 HTML', function () use ($router): void {
    $r = $router->dispatch(new Request('GET', '/nope'));
    same(404, $r->status);
    same('no-store', $r->headers['Cache-Control']);
    same('text/html; charset=utf-8', $r->headers['Content-Type']);
});
check('bad product id is 400 naming field and value', function () use ($router): void {
    $r = $router->dispatch(new Request('GET', '/product/abc', [], [], ['accept' => 'application/json']));
    same(400, $r->status);
    $body = json_decode($r->body, true);
    same('product_id', $body['field']);
    same('abc', $body['value']);
});
check('bad product id HTML page escapes the value', function () use ($router): void {
    $r = $router->dispatch(new Request('GET', '/product/' . rawurlencode('<script>')));
    same(400, $r->status);
    same(false, str_contains($r->body, '<script>'));
    same(true, str_contains($r->body, '&lt;script&gt;'));
});
check('wrong method is 405 with Allow', function () use ($router): void {
    $r = $router->dispatch(new Request('GET', '/checkout'));
    same(405, $r->status);
    same('POST', $r->headers['Allow']);
    $r = $router->dispatch(new Request('DELETE', '/product/1'));
    same('GET, HEAD', $r->headers['Allow']);
});
check('POST errors are JSON', function () use ($router): void {
    $r = $router->dispatch(new Request('POST', '/cart/add', [], ['product_id' => 'x']));
    same(400, $r->status);
    same('application/json', $r->headers['Content-Type']);
    same(['error' => 'invalid product_id: "x" (expected a positive integer id)', 'field' => 'product_id', 'value' => 'x'], json_decode($r->body, true));
});
check('upload without a file is 400 naming the field', function () use ($router): void {
    $r = $router->dispatch(new Request('POST', '/media/upload'));
    same(400, $r->status);
    same('file', json_decode($r->body, true)['field']);
});

echo "\n$passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
