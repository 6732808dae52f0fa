/**
 * The fixed facts of the PersonaPlex / Moshi token layout (NVIDIA/personaplex `moshi/models/lm.py`, kyutai
 * `LMGen`, onnxruntime/mobius `examples/personaplex/moshi_ort.py`). Ids are the real model's; the tiny test
 * bundle keeps them so the loop is checked against the numbers the 7B export uses.
 */

/** 1 text stream + 8 agent (Moshi) codebooks + 8 user codebooks. */
export const NUM_STREAMS = 17;
/** Codebooks per audio stream that Mimi encodes / decodes. */
export const MIMI_CODEBOOKS = 8;
/** Audio codebooks the depformer predicts per frame (PersonaPlex forces dep_q = 16). */
export const DEP_Q = 16;
/** Per-stream delays in frames: semantic codebooks 0, acoustic 1. */
export const DELAYS: readonly number[] = [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1];
export const MAX_DELAY = Math.max(...DELAYS);
/** Token ring length (LMGen: max_delay + 3). */
export const RING = MAX_DELAY + 3;

export const TEXT_EPAD = 0;
export const TEXT_BOS = 1;
export const TEXT_EOS = 2;
/** "zero text code": what the text stream holds while the agent is not saying a word. */
export const TEXT_PAD = 3;
/** text_card: the initial token of the text stream. */
export const TEXT_START = 32000;
/** card: the initial token of every audio stream. */
export const AUDIO_START = 2048;
export const AUDIO_CARD = 2048;
export const TEXT_CARD = 32000;
/** A ring slot nothing has written yet. */
export const UNGENERATED = -2;

/** Mimi tokens of a near-silent frame, fed on the agent stream between prompt phases. */
export const SILENCE_TOKENS: readonly number[] = [948, 243, 1178, 546, 1736, 1030, 1978, 2008];
/** Mimi tokens of the reference 440 Hz sine, fed on the user stream during the whole prompt. */
export const SINE_TOKENS: readonly number[] = [430, 1268, 381, 1611, 1095, 1495, 56, 472];
/** 0.5 s of silence frames after the voice prompt and after the text prompt (the prompt-phase layout is persona's). */
export { PROMPT_SILENCE_FRAMES } from '../../persona/prompt.ts';

/** Sampling defaults of LMGen (and of the WebUI). */
export const DEFAULT_SAMPLING = {
  textTemperature: 0.7,
  textTopK: 25,
  audioTemperature: 0.8,
  audioTopK: 250,
} as const;

/** The temporal transformer's context in frames (RingKVCache capacity, 240 s). */
export const DEFAULT_CONTEXT_FRAMES = 3000;

/** The four graph folders of a mobius export. */
export const GRAPH_NAMES = ['mimi_encoder', 'temporal', 'depformer', 'mimi_decoder'] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

/** Stream index helpers. */
export const TEXT_STREAM = 0;
export const AGENT_STREAM = 1;
export const USER_STREAM = 1 + MIMI_CODEBOOKS;

/** The initial token of each stream (LMModel._get_initial_token). */
export const INITIAL_TOKENS: readonly number[] = [TEXT_START, ...new Array<number>(NUM_STREAMS - 1).fill(AUDIO_START)];
