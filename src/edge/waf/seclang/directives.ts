/**
 * The directive names the parser accepts. httpd matches directive names case-insensitively, so a
 * name is looked up lower-cased and reported in its canonical spelling.
 */

/** Directives with their own AST shape in `../types.ts`. */
export const RULE_DIRECTIVES = [
  'SecRule',
  'SecAction',
  'SecMarker',
  'SecDefaultAction',
  'SecRuleRemoveById',
  'SecRuleRemoveByTag',
  'SecRuleRemoveByMsg',
  'SecRuleUpdateTargetById',
  'SecRuleUpdateTargetByTag',
  'SecRuleUpdateTargetByMsg',
  'SecRuleUpdateActionById',
] as const;

/** A directive name with its own AST shape. */
export type RuleDirectiveName = (typeof RULE_DIRECTIVES)[number];

/** Engine settings kept as `{ kind: 'config' }`; the engine decides what each one means. */
export const CONFIG_DIRECTIVES = [
  'SecComponentSignature',
  'SecCollectionTimeout',
  'SecRuleEngine',
  'SecRequestBodyAccess',
  'SecResponseBodyAccess',
  'SecRequestBodyLimit',
  'SecRequestBodyNoFilesLimit',
  'SecRequestBodyLimitAction',
  'SecRequestBodyInMemoryLimit',
  'SecRequestBodyJsonDepthLimit',
  'SecResponseBodyLimit',
  'SecResponseBodyLimitAction',
  'SecResponseBodyMimeType',
  'SecResponseBodyMimeTypesClear',
  'SecPcreMatchLimit',
  'SecPcreMatchLimitRecursion',
  'SecArgumentSeparator',
  'SecArgumentsLimit',
  'SecCookieFormat',
  'SecUnicodeMapFile',
  'SecStatusEngine',
  'SecAuditEngine',
  'SecAuditLog',
  'SecAuditLog2',
  'SecAuditLogDirMode',
  'SecAuditLogFileMode',
  'SecAuditLogFormat',
  'SecAuditLogParts',
  'SecAuditLogRelevantStatus',
  'SecAuditLogStorageDir',
  'SecAuditLogType',
  'SecDebugLog',
  'SecDebugLogLevel',
  'SecTmpDir',
  'SecDataDir',
  'SecUploadDir',
  'SecTmpSaveUploadedFiles',
] as const;

const CANONICAL = new Map<string, string>(
  [...RULE_DIRECTIVES, ...CONFIG_DIRECTIVES].map((name) => [name.toLowerCase(), name]),
);
const RULE_SET = new Set<string>(RULE_DIRECTIVES);

/** The canonical spelling of a known directive name, or undefined for a name the parser refuses. */
export function canonicalDirective(written: string): string | undefined {
  return CANONICAL.get(written.toLowerCase());
}

/** Whether a canonical name has its own AST shape (otherwise it is a config directive). */
export function isRuleDirective(name: string): name is RuleDirectiveName {
  return RULE_SET.has(name);
}
