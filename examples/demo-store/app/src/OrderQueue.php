<?php

declare(strict_types=1);

namespace Demo;

/**
 * The durable RabbitMQ queue `orders` (php-amqp extension, AMQP 0-9-1).
 * Messages are {"order_id": N}, published persistent through the default exchange
 * with publisher confirms, so a 2xx from /checkout means the broker has the message.
 */
final class OrderQueue
{
    public const QUEUE = 'orders';
    private const DELIVERY_MODE_PERSISTENT = 2;

    private ?\AMQPConnection $connection = null;
    private ?\AMQPChannel $channel = null;
    private ?\AMQPQueue $queue = null;

    public function __construct(private readonly float $timeout = 3.0)
    {
    }

    /** Publishes {"order_id": N} persistently and waits for the broker's confirm. */
    public function publish(int $orderId): void
    {
        $channel = $this->channel();
        $channel->confirmSelect();
        $nacked = false;
        // Returning false from a confirm callback ends waitForConfirm().
        $channel->setConfirmCallback(
            static fn (): bool => false,
            static function () use (&$nacked): bool {
                $nacked = true;
                return false;
            }
        );
        $exchange = new \AMQPExchange($channel); // unnamed = the default exchange
        $exchange->publish(
            self::encode($orderId),
            self::QUEUE,
            AMQP_NOPARAM,
            ['delivery_mode' => self::DELIVERY_MODE_PERSISTENT, 'content_type' => 'application/json']
        );
        $channel->waitForConfirm($this->timeout);
        if ($nacked) {
            throw new \AMQPException('broker refused (nacked) the message for order ' . $orderId);
        }
    }

    /** basic_get without auto-ack; null when the queue is empty. */
    public function get(): ?\AMQPEnvelope
    {
        $envelope = $this->queue()->get(AMQP_NOPARAM);
        return $envelope === false ? null : $envelope;
    }

    public function ack(\AMQPEnvelope $envelope): void
    {
        $this->queue()->ack($envelope->getDeliveryTag());
    }

    public function requeue(\AMQPEnvelope $envelope): void
    {
        $this->queue()->nack($envelope->getDeliveryTag(), AMQP_REQUEUE);
    }

    /** Drops a message that can never be processed (malformed). */
    public function discard(\AMQPEnvelope $envelope): void
    {
        $this->queue()->reject($envelope->getDeliveryTag(), AMQP_NOPARAM);
    }

    public function close(): void
    {
        if ($this->connection !== null && $this->connection->isConnected()) {
            $this->connection->disconnect();
        }
        $this->connection = $this->channel = $this->queue = null;
    }

    public static function encode(int $orderId): string
    {
        return json_encode(['order_id' => $orderId], JSON_THROW_ON_ERROR);
    }

    /** The order id in a message body, or null when the body is not {"order_id": <positive int>}. */
    public static function decode(string $body): ?int
    {
        try {
            $data = json_decode($body, true, 4, JSON_THROW_ON_ERROR);
        } catch (\JsonException) {
            return null;
        }
        $id = is_array($data) ? ($data['order_id'] ?? null) : null;
        return is_int($id) && $id > 0 ? $id : null;
    }

    private function channel(): \AMQPChannel
    {
        if ($this->channel === null) {
            $this->queue(); // connects, opens the channel and declares the queue
        }
        return $this->channel;
    }

    private function queue(): \AMQPQueue
    {
        if ($this->queue !== null) {
            return $this->queue;
        }
        $amqp = Config::amqp();
        $this->connection = new \AMQPConnection([
            'host' => $amqp['host'],
            'port' => $amqp['port'],
            'vhost' => $amqp['vhost'],
            'login' => $amqp['login'],
            'password' => $amqp['password'],
            'connect_timeout' => $this->timeout,
            'read_timeout' => $this->timeout,
            'write_timeout' => $this->timeout,
            'rpc_timeout' => $this->timeout,
        ]);
        $this->connection->connect();
        $this->channel = new \AMQPChannel($this->connection);
        $queue = new \AMQPQueue($this->channel);
        $queue->setName(self::QUEUE);
        $queue->setFlags(AMQP_DURABLE);
        $queue->declareQueue();
        return $this->queue = $queue;
    }
}
