<?php

declare(strict_types=1);

namespace Demo;

/** Sends Magento-style tag purges to Varnish (PURGE / with X-Magento-Tags-Pattern). */
final class Purger
{
    public function __construct(private readonly float $timeout = 3.0)
    {
    }

    /**
     * @return array{status: ?int, error: ?string} status is Varnish's HTTP status code,
     *                                             null when Varnish could not be reached
     */
    public function purgeTag(string $tag): array
    {
        $varnish = Config::varnish();
        $url = sprintf('http://%s:%d/', $varnish['host'], $varnish['port']);
        $curl = curl_init($url);
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => 'PURGE',
            CURLOPT_HTTPHEADER => ['X-Magento-Tags-Pattern: ' . CacheTags::purgePattern($tag)],
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CONNECTTIMEOUT_MS => (int) ($this->timeout * 1000),
            CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP,
        ]);
        $ok = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = $ok === false ? curl_error($curl) : null;
        curl_close($curl);
        if ($ok === false || $status === 0) {
            error_log(sprintf('demo-store: PURGE %s failed: %s', $url, $error ?? 'no response'));
            return ['status' => null, 'error' => 'varnish unreachable'];
        }
        return ['status' => $status, 'error' => $status >= 200 && $status < 300 ? null : 'varnish answered ' . $status];
    }
}
