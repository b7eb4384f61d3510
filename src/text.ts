/**
 * Free text as people type it, checked before it is stored. PostgreSQL refuses a NUL character and
 * a lone UTF-16 surrogate (22P05) and then writes the surrounding text to its own log, a child's
 * name included: such text is refused with the field named before it gets that far.
 */

// Linear in the input: each alternative looks at one or two characters, nothing backtracks.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether PostgreSQL can store this text: no NUL, no lone surrogate. */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

export const UNSTORABLE_TEXT_MESSAGE = 'contains a character that cannot be stored (a control character or a broken symbol): please retype it';
