import type { ActionRef } from '../types.ts';
import { SecLangSyntaxError } from './errors.ts';
import { quotedEnd, unquoteValue } from './tokenize.ts';

/** Parses an action list such as `id:1,t:none,msg:'a, b',setvar:'tx.x=+%{tx.y}'`. */
export function parseActions(text: string): ActionRef[] {
  // Commas inside single quotes do not split, so messages, `logdata` and `setvar` keep theirs.
  if (text.trim() === '') return [];
  return splitOnCommas(text).map(parseAction);
}

/** Whether a rule's own actions say the next SecRule belongs to it. */
export function asksForChain(rule: { readonly actions: readonly ActionRef[] }): boolean {
  return rule.actions.some((a) => a.name === 'chain');
}

function splitOnCommas(text: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "'") {
      const end = quotedEnd(text, i);
      if (end < 0) throw new SecLangSyntaxError(`missing closing ' in actions: ${text.slice(i, i + 60)}`);
      i = end - 1;
    } else if (text[i] === ',') {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items;
}

function parseAction(item: string): ActionRef {
  const trimmed = item.trim();
  if (trimmed === '') throw new SecLangSyntaxError('empty action (two commas in a row, or a trailing comma)');
  const colon = trimmed.indexOf(':');
  const name = (colon < 0 ? trimmed : trimmed.slice(0, colon)).trim();
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new SecLangSyntaxError(`invalid action name "${name}"`);
  if (colon < 0) return { name: name.toLowerCase() };
  return { name: name.toLowerCase(), value: unquoteValue(trimmed.slice(colon + 1).trim()) };
}
