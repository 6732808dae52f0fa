/** Audio codecs on the wire. Opus is the default; PCM16 (little-endian, 1920 samples) is the fallback. */
export const CODECS = ['opus', 'pcm16'] as const;
export type Codec = (typeof CODECS)[number];

export function isCodec(x: unknown): x is Codec {
  return x === 'opus' || x === 'pcm16';
}

/** Pick the first codec in our preference order that the peer lists; null when there is none in common. */
export function negotiateCodec(peer: readonly unknown[], ours: readonly Codec[] = CODECS): Codec | null {
  for (const c of ours) if (peer.includes(c)) return c;
  return null;
}

/** PCM16 frame payload size in bytes. */
export const PCM16_FRAME_BYTES = 1920 * 2;
/** Opus caps a packet at 1275 bytes per 20 ms; an 80 ms packet is at most about 4 × 1275 plus framing. */
export const OPUS_MAX_FRAME_BYTES = 5120;
