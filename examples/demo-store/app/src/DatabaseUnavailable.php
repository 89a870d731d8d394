<?php

declare(strict_types=1);

namespace Demo;

/** The database could not be reached (after retries); rendered as 503. */
final class DatabaseUnavailable extends \RuntimeException
{
}
