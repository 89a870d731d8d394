<?php

declare(strict_types=1);

/*
 * Front controller: nginx sends every request that is not a file under pub/ here.
 * Routes are listed in src/Router.php and documented in README.md.
 */

require __DIR__ . '/../src/bootstrap.php';

use Demo\Request;
use Demo\Router;
use Demo\Store;

header_remove('X-Powered-By');
$request = Request::fromGlobals();
$response = (new Router(new Store()))->dispatch($request);
if (session_status() === PHP_SESSION_ACTIVE) {
    session_write_close();
}
$response->send(headers_list(), $request->method !== 'HEAD');
