/**
 * Splitting instruction text into words. `splitRaw` keeps quotes and escapes in the words (they are
 * removed later, by expansion); `splitWords` removes them (compose's `command:` strings).
 */
import { MayflyError } from '../../core/errors.js';

/** Splits on blanks outside quotes; the words keep their quotes and escape characters. */
export function splitRaw(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      word += ch;
      if (ch === escape && quote === '"' && i + 1 < text.length) word += text[++i];
      else if (ch === quote) quote = undefined;
    } else if (ch === escape && i + 1 < text.length) {
      word += ch + text[++i];
      inWord = true;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word += ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Splits words the way the shell-less instructions (and compose's `command:`) do: spaces, with
 * quotes. `strict`: an unterminated quote is an error rather than the rest of the text.
 */
export function splitWords(text: string, opts: { strict?: boolean } = {}): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote && opts.strict) throw new MayflyError('INVALID_OPTION', `unterminated quote in "${text}"`);
  if (inWord) words.push(word);
  return words;
}

/** `["a", "b"]`: the JSON (exec) form, or undefined when the text is not a JSON array of strings. */
export function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
  } catch {
    // not JSON: Docker then reads it as the shell form
  }
  return undefined;
}
