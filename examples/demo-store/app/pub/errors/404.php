<?php

declare(strict_types=1);

/*
 * Magento's error page for the 404s nginx produces itself (error_page 404 403 = /errors/404.php),
 * e.g. a missing file under /static/. PHP's own 404s come from the front controller.
 */

http_response_code(404);
header('Content-Type: text/plain; charset=utf-8');
header('Cache-Control: no-store');
header_remove('X-Powered-By');
echo "404 not found\n";
