/** The 15 Oculus/OVR visemes, in their conventional order; index = viseme id on the wire. */
export const VISEMES = ['sil', 'PP', 'FF', 'TH', 'DD', 'kk', 'CH', 'SS', 'nn', 'RR', 'aa', 'E', 'I', 'O', 'U'] as const;
export type Viseme = (typeof VISEMES)[number];
export type VisemeId = number; // 0..14

/** One viseme key on an NPC's voice stream; `at` counts samples from the stream's first frame (frame index × 1920 + offset). */
export interface VisemeKey {
  at: number;
  v: VisemeId;
}

/**
 * Keys sent with an NPC voice frame. Keys at or after `from` replace every key the client holds at or after
 * `from`: a word's timing is revised when the next word arrives.
 */
export interface VisemeTrack {
  from: number;
  keys: VisemeKey[];
}
