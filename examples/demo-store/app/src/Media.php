<?php

declare(strict_types=1);

namespace Demo;

/** Uploads into the shared media volume ($MEDIA_DIR/uploads), served by nginx under /media/. */
final class Media
{
    public const MAX_BYTES = 5 * 1024 * 1024;
    public const MAX_NAME_LENGTH = 100;

    /** Extensions nginx may serve from the volume; no HTML/SVG/PHP (stored XSS, code). */
    public const ALLOWED_EXTENSIONS = ['jpg', 'jpeg', 'png', 'gif', 'webp', 'txt'];
    private const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'gif', 'webp'];

    /**
     * Turns a client-supplied file name into a safe single path segment, or throws a 400.
     * Anything that looks like a path (separators, "..", NUL, a leading dot) is rejected
     * rather than repaired; other unusual characters are replaced with "-".
     */
    public static function sanitiseName(string $original): string
    {
        $reject = static fn (): HttpError => HttpError::badInput('file', $original, 'a plain file name such as photo.png');
        if ($original === '' || strlen($original) > 255
            || preg_match('#[/\\\\\x00]#', $original) === 1
            || str_contains($original, '..')
            || str_starts_with($original, '.')) {
            throw $reject();
        }
        $name = preg_replace('/[^A-Za-z0-9._-]+/', '-', $original) ?? '';
        $name = trim($name, '-');
        $dot = strrpos($name, '.');
        if ($dot === false || $dot === 0) {
            throw HttpError::badInput('file', $original, 'a file name with one of the extensions ' . implode(', ', self::ALLOWED_EXTENSIONS));
        }
        $base = rtrim(substr($name, 0, $dot), '.-');
        $extension = strtolower(substr($name, $dot + 1));
        if ($base === '') {
            throw $reject();
        }
        if (!in_array($extension, self::ALLOWED_EXTENSIONS, true)) {
            throw HttpError::badInput('file', $original, 'a file name with one of the extensions ' . implode(', ', self::ALLOWED_EXTENSIONS));
        }
        $base = substr($base, 0, self::MAX_NAME_LENGTH - strlen($extension) - 1);
        return $base . '.' . $extension;
    }

    /**
     * Stores an uploaded file (an entry of $_FILES) and returns its public URL.
     * Never overwrites: an existing name gets a -1, -2, … suffix.
     *
     * @param array<string, mixed>|null $upload
     * @return array{url: string, name: string, size: int}
     */
    public static function store(?array $upload, string $mediaDir): array
    {
        if ($upload === null || !isset($upload['error'], $upload['tmp_name'], $upload['name'], $upload['size'])) {
            throw HttpError::badInput('file', null, 'a multipart/form-data upload in field "file"');
        }
        if (is_array($upload['error'])) {
            throw HttpError::badInput('file', 'several files', 'exactly one file in field "file"');
        }
        $error = (int) $upload['error'];
        if ($error === UPLOAD_ERR_INI_SIZE || $error === UPLOAD_ERR_FORM_SIZE || (int) $upload['size'] > self::MAX_BYTES) {
            throw new HttpError(413, sprintf('file too large (limit %d bytes)', min(self::MAX_BYTES, self::iniBytes('upload_max_filesize'))), ['field' => 'file', 'value' => null]);
        }
        if ($error === UPLOAD_ERR_NO_FILE) {
            throw HttpError::badInput('file', null, 'a file in field "file"');
        }
        if ($error !== UPLOAD_ERR_OK || !is_uploaded_file((string) $upload['tmp_name'])) {
            error_log('demo-store: upload failed with PHP upload error ' . $error);
            throw new HttpError(500, 'upload failed');
        }
        // PHP reduces 'name' to a base name; 'full_path' (PHP ≥ 8.1) keeps what the client
        // sent, so a path trick is rejected instead of being silently stripped.
        $clientName = (string) ($upload['full_path'] ?? $upload['name']);
        $name = self::sanitiseName($clientName);
        $tmp = (string) $upload['tmp_name'];
        $extension = substr($name, (int) strrpos($name, '.') + 1);
        if (in_array($extension, self::IMAGE_EXTENSIONS, true) && @getimagesize($tmp) === false) {
            throw HttpError::badInput('file', $clientName, 'image content matching the file extension');
        }

        $dir = $mediaDir . '/uploads';
        if (!is_dir($dir)) {
            if (!@mkdir($dir, 0775, true) && !is_dir($dir)) {
                error_log('demo-store: cannot create ' . $dir);
                throw new HttpError(500, 'media storage unavailable');
            }
            @chmod($dir, 0775); // group www-data shares the volume; mkdir obeys the umask
        }
        $staging = $dir . '/.upload-' . bin2hex(random_bytes(8));
        if (!@move_uploaded_file($tmp, $staging)) {
            error_log('demo-store: cannot move upload into ' . $dir);
            throw new HttpError(500, 'media storage unavailable');
        }
        try {
            @chmod($staging, 0664);
            $final = self::moveUnique($staging, $dir, $name);
        } finally {
            if (file_exists($staging)) {
                @unlink($staging);
            }
        }
        return ['url' => '/media/uploads/' . rawurlencode($final), 'name' => $final, 'size' => (int) $upload['size']];
    }

    /**
     * Moves $source into $dir under $name or name-N.ext, whichever is free first. The name
     * is claimed with an exclusive create (fopen "x"), so concurrent uploads from several
     * pods never overwrite each other; the file is then renamed over the claimed name.
     */
    private static function moveUnique(string $source, string $dir, string $name): string
    {
        $dot = (int) strrpos($name, '.');
        for ($n = 0; $n < 100; $n++) {
            $candidate = $n === 0 ? $name : substr($name, 0, $dot) . '-' . $n . substr($name, $dot);
            $handle = @fopen($dir . '/' . $candidate, 'x');
            if ($handle === false) {
                if (file_exists($dir . '/' . $candidate)) {
                    continue;
                }
                break;
            }
            fclose($handle);
            if (@rename($source, $dir . '/' . $candidate)) {
                return $candidate;
            }
            @unlink($dir . '/' . $candidate);
            break;
        }
        if ($n >= 100) {
            throw new HttpError(409, 'too many files named ' . $name);
        }
        error_log('demo-store: cannot store upload in ' . $dir);
        throw new HttpError(500, 'media storage unavailable');
    }

    /** php.ini size ("2M", "512K", "1G") in bytes. */
    public static function iniBytes(string $directive): int
    {
        $value = trim((string) ini_get($directive));
        if (preg_match('/^(\d+)\s*([KMG]?)$/i', $value, $m) !== 1) {
            return PHP_INT_MAX;
        }
        return (int) $m[1] * match (strtoupper($m[2])) {
            'K' => 1024,
            'M' => 1024 ** 2,
            'G' => 1024 ** 3,
            default => 1,
        };
    }
}
