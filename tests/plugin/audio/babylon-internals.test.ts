/**
 * The Babylon internals Parley reads (plugin/audio/babylon-internals.ts), against the real @babylonjs/core
 * AudioEngineV2 in Node: these fail when a Babylon release renames or rewires them.
 */
import '../support/node-audio-env.ts';
import { describe, expect, it } from 'vitest';
import type { AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import { engineAudioContext, engineOutputNode } from '../../../plugin/audio/babylon-internals.ts';

describe('Babylon internals', () => {
  it('finds the AudioContext the engine renders into', async () => {
    const ctx = new OfflineAudioContext(2, 4800, 48_000);
    const engine = await CreateAudioEngineAsync({ audioContext: ctx as unknown as AudioContext, disableDefaultUI: true, resumeOnInteraction: false });
    expect(engineAudioContext(engine)).toBe(ctx);
    engine.dispose();
  });

  it("finds the engine's output node: what plays through the engine reaches the destination through it", async () => {
    const rendered = async (cut: boolean) => {
      const ctx = new OfflineAudioContext(2, 4800, 48_000);
      const engine = await CreateAudioEngineAsync({ audioContext: ctx as unknown as AudioContext, disableDefaultUI: true, resumeOnInteraction: false });
      const out = engineOutputNode(engine);
      expect(out.context).toBe(ctx);
      const osc = ctx.createOscillator();
      osc.frequency.value = 440;
      const sound = await engine.createSoundSourceAsync('tone', osc);
      osc.start();
      if (cut) out.disconnect(); // what Parley's echo loopback does before re-routing it
      const buf = await ctx.startRendering();
      engine.dispose();
      let peak = 0;
      for (const x of buf.getChannelData(0)) peak = Math.max(peak, Math.abs(x));
      return peak;
    };
    expect(await rendered(false)).toBeGreaterThan(0.1);
    expect(await rendered(true)).toBe(0);
  });

  it('fails with a clear message on an engine that is not Babylon WebAudio', () => {
    const fake = {} as AudioEngineV2;
    expect(() => engineAudioContext(fake)).toThrow(/AudioContext/);
    expect(() => engineOutputNode(fake)).toThrow(/output node/);
  });
});
