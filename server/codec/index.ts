import type { Codec } from '../../protocol/codecs.ts';
import { FrameSizeError, OpusFrameDecoder, OpusFrameEncoder } from './opus.ts';
import { floatToPcm16, pcm16ToFloat } from './pcm16.ts';

export interface FrameEncoder {
  encode(frame: Float32Array): Uint8Array;
}
export interface FrameDecoder {
  decode(payload: Uint8Array): Float32Array;
}

/** Codecs are stateful (Opus): make one per stream. */
export function createEncoder(codec: Codec): FrameEncoder {
  return codec === 'opus' ? new OpusFrameEncoder() : { encode: floatToPcm16 };
}

export function createDecoder(codec: Codec): FrameDecoder {
  return codec === 'opus'
    ? new OpusFrameDecoder()
    : {
        decode: (b) => {
          try {
            return pcm16ToFloat(b);
          } catch (err) {
            throw new FrameSizeError((err as Error).message);
          }
        },
      };
}

export { floatToPcm16, pcm16ToFloat, FrameSizeError, OpusFrameDecoder, OpusFrameEncoder };
