<?php

declare(strict_types=1);

namespace Demo;

/**
 * Magento's cache tag names, used in X-Magento-Tags (what a page shows) and in the
 * X-Magento-Tags-Pattern of a PURGE (what changed).
 */
final class CacheTags
{
    public const PRODUCT = 'cat_p';
    public const CATEGORY = 'cat_c';
    public const CMS_BLOCK = 'cms_b';

    /**
     * Tags for a page showing these products and categories plus any extra tags (e.g.
     * from a cached fragment, or cms_b), normalised by normalise().
     *
     * @param iterable<int> $productIds
     * @param iterable<int> $categoryIds
     * @param list<string> $extra
     * @return list<string>
     */
    public static function forPage(iterable $productIds, iterable $categoryIds, array $extra = []): array
    {
        $tags = [];
        foreach ($productIds as $id) {
            $tags[] = self::product($id);
        }
        foreach ($categoryIds as $id) {
            $tags[] = self::category($id);
        }
        return self::normalise([...$tags, ...$extra]);
    }

    /**
     * Deduplicates and groups tags deterministically: for each entity type in order of
     * first appearance, its entity tags (cat_p_1, cat_p_7) followed by the generic tag of
     * the type (cat_p, as Magento adds it), then the remaining plain tags (cms_b).
     *
     * @param list<string> $tags
     * @return list<string>
     */
    public static function normalise(array $tags): array
    {
        $groups = [];
        $plain = [];
        foreach ($tags as $tag) {
            if (preg_match('/^([a-z][a-z0-9_]*?)_(\d+)$/', $tag, $m) === 1) {
                $groups[$m[1]][$tag] = true;
            } else {
                $plain[$tag] = true;
            }
        }
        $out = [];
        foreach ($groups as $type => $entityTags) {
            array_push($out, ...array_keys($entityTags));
            $out[] = $type;
            unset($plain[$type]);
        }
        return [...$out, ...array_map('strval', array_keys($plain))];
    }

    public static function product(int $id): string
    {
        return self::PRODUCT . '_' . self::positiveId($id);
    }

    public static function category(int $id): string
    {
        return self::CATEGORY . '_' . self::positiveId($id);
    }

    /** The ban pattern Magento sends for one tag: ((^|,)cat_p_42(,|$)) */
    public static function purgePattern(string $tag): string
    {
        if (preg_match('/^[a-z][a-z0-9_]*$/', $tag) !== 1) {
            throw new \InvalidArgumentException('invalid cache tag');
        }
        return '((^|,)' . $tag . '(,|$))';
    }

    private static function positiveId(int $id): int
    {
        if ($id < 1) {
            throw new \InvalidArgumentException('entity ids are positive');
        }
        return $id;
    }
}
