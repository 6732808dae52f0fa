/** The model's audio frame: 24 kHz mono, 1920 samples = 80 ms, 12.5 frames a second. Both ends use these. */
export const SAMPLE_RATE = 24_000;
export const FRAME_SAMPLES = 1920;
export const FRAME_MS = 80;
export const FRAMES_PER_SECOND = SAMPLE_RATE / FRAME_SAMPLES; // 12.5
