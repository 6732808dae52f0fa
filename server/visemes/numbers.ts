/**
 * Numbers as they are spoken, so "42" moves the lips like "forty two". Covers what NPC speech contains: cardinals,
 * decimals, ordinals (1st, 22nd), years (1999, 2024), thousands separators and a sign. Returns words, never throws.
 */

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion'];

function underThousand(n: number): string[] {
  const words: string[] = [];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  if (hundreds) words.push(ONES[hundreds], 'hundred');
  if (rest) words.push(...underHundred(rest));
  return words;
}

function underHundred(n: number): string[] {
  if (n < 20) return [ONES[n]];
  const t = Math.floor(n / 10);
  return n % 10 ? [TENS[t], ONES[n % 10]] : [TENS[t]];
}

/** Cardinal words for a non-negative integer given as digits (any length; past trillions, digit by digit). */
export function cardinal(digits: string): string[] {
  const clean = digits.replace(/^0+(?=\d)/, '');
  if (clean.length > 15) return [...clean].map((d) => ONES[Number(d)]);
  let n = Number(clean);
  if (n === 0) return ['zero'];
  const groups: string[][] = [];
  for (let scale = 0; n > 0; scale++, n = Math.floor(n / 1000)) {
    const g = n % 1000;
    if (g) groups.unshift([...underThousand(g), ...(SCALES[scale] ? [SCALES[scale]] : [])]);
  }
  return groups.flat();
}

/** "1999" → nineteen ninety nine, "2005" → two thousand five, "1900" → nineteen hundred. */
export function year(digits: string): string[] {
  const n = Number(digits);
  if (n >= 2000 && n < 2010) return cardinal(digits);
  const hi = Math.floor(n / 100);
  const lo = n % 100;
  if (lo === 0) return [...underHundred(hi), 'hundred'];
  return [...underHundred(hi), ...(lo < 10 ? ['oh', ONES[lo]] : underHundred(lo))];
}

const ORDINAL_WORDS: Record<string, string> = {
  one: 'first', two: 'second', three: 'third', five: 'fifth', eight: 'eighth', nine: 'ninth', twelve: 'twelfth',
};

/** "22" → twenty second. */
export function ordinal(digits: string): string[] {
  const words = cardinal(digits);
  const last = words[words.length - 1];
  let ord = ORDINAL_WORDS[last];
  if (!ord) ord = last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`;
  return [...words.slice(0, -1), ord];
}

/**
 * Spell out a numeric token: "42", "-3", "3.14", "1,200", "1st", "1990s", "2024". Returns null when the token is
 * not a number.
 */
export function spellNumber(token: string): string[] | null {
  const m = /^([+-]?)(\d[\d,]*)(?:\.(\d+))?(st|nd|rd|th|s)?$/i.exec(token);
  if (!m) return null;
  const [, sign, intPart, frac, suffix] = m;
  const digits = intPart.replace(/,/g, '');
  if (!/^\d+$/.test(digits)) return null;
  const words: string[] = [];
  if (sign === '-') words.push('minus');
  const n = Number(digits);
  const suf = suffix?.toLowerCase();
  const looksLikeYear = !frac && !sign && !intPart.includes(',') && digits.length === 4 && n >= 1100 && n < 2100;
  if (suf && suf !== 's') {
    words.push(...ordinal(digits));
  } else if (looksLikeYear) {
    words.push(...year(digits));
  } else {
    words.push(...cardinal(digits));
  }
  if (frac) words.push('point', ...[...frac].map((d) => ONES[Number(d)]));
  if (suf === 's') {
    // "1990s" → nineteen nineties
    const last = words[words.length - 1];
    words[words.length - 1] = last.endsWith('y') ? `${last.slice(0, -1)}ies` : `${last}s`;
  }
  return words;
}
