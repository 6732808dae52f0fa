/**
 * The mouth pose of each of the 15 Oculus visemes, as a few articulation parameters the procedural head turns
 * into vertex offsets (head.ts). Values are 0..1. Pure data, shared by the head builder and its tests.
 */
import { VISEMES, type Viseme } from '../../protocol/visemes.ts';

export interface MouthShape {
  /** jaw drop: the lower lip and chin move down, the mouth opens */
  jaw: number;
  /** upper lip raised (shows the upper teeth) */
  upper: number;
  /** lips spread sideways (smile-like: SS, I, E) */
  width: number;
  /** lips rounded and pushed forward (O, U, CH, RR) */
  round: number;
  /** lips pressed together and rolled in (PP: p, b, m) */
  press: number;
  /** lower lip tucked up and back under the upper teeth (FF: f, v) */
  tuck: number;
}

const S = (p: Partial<MouthShape>): MouthShape => ({ jaw: 0, upper: 0, width: 0, round: 0, press: 0, tuck: 0, ...p });

export const MOUTH_SHAPES: Record<Viseme, MouthShape> = {
  sil: S({}),
  PP: S({ press: 1 }),
  FF: S({ jaw: 0.18, upper: 0.45, tuck: 1 }),
  TH: S({ jaw: 0.28, upper: 0.2, width: 0.1 }),
  DD: S({ jaw: 0.3, upper: 0.15, width: 0.2 }),
  kk: S({ jaw: 0.38, width: 0.15 }),
  CH: S({ jaw: 0.22, upper: 0.3, round: 0.6 }),
  SS: S({ jaw: 0.1, upper: 0.3, width: 0.65 }),
  nn: S({ jaw: 0.25, width: 0.1 }),
  RR: S({ jaw: 0.2, round: 0.5 }),
  aa: S({ jaw: 1, upper: 0.2, width: 0.2 }),
  E: S({ jaw: 0.55, upper: 0.2, width: 0.5 }),
  I: S({ jaw: 0.35, upper: 0.25, width: 0.8 }),
  O: S({ jaw: 0.65, round: 0.8 }),
  U: S({ jaw: 0.25, round: 1 }),
};

/** Morph target names, Ready Player Me / TalkingHead style, in wire order. */
export const VISEME_TARGET_NAMES: readonly string[] = VISEMES.map((v) => `viseme_${v}`);
