/** "Did you mean …?" for misspelled field names and voices. */

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const n = norm(c);
    if (n === w) return c; // speakingStyle, speaking-style, Speaking_Style → speaking_style
    const d = editDistance(w, n);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  // short words are a distance of 1–2 from almost anything: only suggest for words of 3+ letters
  return best !== undefined && w.length >= 3 && bestD <= Math.max(1, Math.floor(w.length / 4)) + (w.length >= 6 ? 1 : 0) ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
