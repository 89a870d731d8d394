#!/usr/bin/env php
<?php

declare(strict_types=1);

/*
 * Cron job (every minute): drains the durable RabbitMQ queue `orders`.
 * For each waiting message {"order_id": N} (basic.get, manual ack): mark the order
 * processed in MariaDB, then ack. Exits 0 once the queue is empty (or after
 * MAX_MESSAGES / MAX_SECONDS, leaving the rest to the next run), 1 on an
 * infrastructure failure (the unacked message goes back to the queue).
 *
 * Output: one line per message, e.g. "order 12 processed".
 */

require __DIR__ . '/../src/bootstrap.php';

use Demo\Database;
use Demo\OrderQueue;
use Demo\Orders;

if (PHP_SAPI !== 'cli') {
    http_response_code(404);
    exit(1);
}

const MAX_MESSAGES = 10000;
const MAX_SECONDS = 50; // stay inside the one-minute cron period

$started = microtime(true);
$handled = 0;
$drained = false;
$queue = new OrderQueue();

try {
    $pdo = Database::connection();
    Database::ensureSchema($pdo);
    $orders = new Orders($pdo);

    while ($handled < MAX_MESSAGES && microtime(true) - $started < MAX_SECONDS) {
        $envelope = $queue->get();
        if ($envelope === null) {
            $drained = true;
            break;
        }
        $handled++;
        $orderId = OrderQueue::decode($envelope->getBody());
        if ($orderId === null) {
            $queue->discard($envelope);
            printf("message %s discarded: not {\"order_id\": <id>}\n", json_encode(substr($envelope->getBody(), 0, 80)));
            continue;
        }
        try {
            $result = $orders->markProcessed($orderId);
        } catch (Throwable $e) {
            $queue->requeue($envelope);
            throw $e;
        }
        $queue->ack($envelope);
        printf("order %d %s\n", $orderId, match ($result) {
            'processed' => 'processed',
            'already-processed' => 'already processed (redelivery), acked',
            'not-found' => 'not found, acked',
        });
    }
    $queue->close();
} catch (Throwable $e) {
    fprintf(STDERR, "consume-orders: %s: %s\n", $e::class, $e->getMessage());
    exit(1);
}

printf(
    "consume-orders: %d message(s) handled in %.2fs, %s\n",
    $handled,
    microtime(true) - $started,
    $drained ? 'queue empty' : 'limit reached, the rest is left for the next run'
);
exit(0);
