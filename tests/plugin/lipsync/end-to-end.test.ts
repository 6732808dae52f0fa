/**
 * Server timeline → tracks (as sent with NPC voice frames) → plugin driver on a Babylon mesh, on a fake
 * samples-played clock: the mouth shows each word's shapes when the word is heard.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { VISEMES } from '../../../protocol/visemes.ts';
import { VisemeTimeline } from '../../../server/visemes/timeline.ts';
import { loadPronunciations } from '../../../server/visemes/pronounce.ts';
import { LipSyncDriver } from '../../../plugin/lipsync/driver.ts';
import { createLipSyncRig } from '../../../plugin/lipsync/rigs.ts';
import { createHead, createScene, FakeStreamClock, OCULUS_NAMES } from '../support/babylon-head.ts';

beforeAll(async () => {
  await loadPronunciations();
});

function dominant(weights: Float32Array): string {
  let best = 0;
  for (let v = 1; v < weights.length; v++) if (weights[v] > weights[best]) best = v;
  return VISEMES[best];
}

describe('timeline → driver', () => {
  it('the mouth follows the words on the stream clock, and an interruption shuts it', () => {
    const lead = 2;
    const timeline = new VisemeTimeline({ leadFrames: lead });
    const scene = createScene();
    const head = createHead(scene, OCULUS_NAMES);
    const clock = new FakeStreamClock();
    const driver = new LipSyncDriver({ clock, rig: createLipSyncRig(head), attackMs: 0, releaseMs: 0 });
    const pieces: Record<number, string> = { 3: '▁Oh', 8: '▁map', 14: '▁see', 18: '▁you' };
    // the server produces frames ahead of playback (the client's jitter buffer): tracks arrive 3 frames early
    const seen: string[] = [];
    for (let frame = 0; frame < 30; frame++) {
      const track = timeline.onFrame(frame, pieces[frame]);
      if (track) driver.applyTrack(track);
      if (frame === 19) {
        timeline.interrupt(frame + 1);
        driver.flush((frame + 1) * FRAME_SAMPLES);
      }
      // play frame - 3 in 5 render steps of 16 ms
      const playing = frame - 3;
      if (playing < 0) continue;
      for (let step = 0; step < 5; step++) {
        clock.streamPosition = playing * FRAME_SAMPLES + step * 384;
        driver.update(16);
        seen.push(dominant(driver.weights));
      }
    }
    const at = (frame: number, offsetMs: number) => seen[frame * 5 + Math.round(offsetMs / 16)];
    // "Oh" (OW: O→U) heard from frame 3+2 plus half a frame
    expect(at(5, 0)).toBe('sil');
    expect(at(5, 64)).toBe('O');
    // "map": lips closed at its start, then open
    expect(at(10, 48)).toBe('PP');
    expect(['aa', 'PP']).toContain(at(11, 16));
    // "see" starts with SS
    expect(at(16, 48)).toBe('SS');
    // interrupted at frame 20: "you" (heard from frame 20.5) never shows
    for (let f = 20; f < 27; f++) for (let ms = 0; ms < 80; ms += 16) expect(at(f, ms)).toBe('sil');
    scene.getEngine().dispose();
  });
});
