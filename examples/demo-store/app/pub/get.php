<?php

declare(strict_types=1);

/*
 * Magento's media entry point. nginx serves /media/ from the shared volume and sends requests
 * for anything that is not a file there (try_files … /get.php) to this script, with the
 * original REQUEST_URI. The front controller routes them: POST /media/upload is the upload
 * handler, any other missing media path is a 404.
 */

require __DIR__ . '/index.php';
