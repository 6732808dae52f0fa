/**
 * The bundle's type declarations work for a game: build them (plugin/scripts/build-types.mjs) and compile a
 * small consumer against dist/plugin/parley-plugin.d.ts with plain strict settings (no .ts import extensions).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

const consumer = `
import { ParleySession, ParleyVoice, NpcVoiceBehavior, npcStatusOf, type NpcVoiceStream, type SessionStateEvent, type RoomStateView, PROTOCOL_VERSION } from '../../../dist/plugin/parley-plugin.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';

export async function start(scene: Scene, guard: AbstractMesh): Promise<number> {
  const parley = await ParleySession.connect({ scene, url: 'ws://localhost:2567', mode: 'push-to-talk', pushToTalkKey: 'KeyV' });
  parley.onSessionStateObservable.add((e: SessionStateEvent) => console.log(e.state, PROTOCOL_VERSION));
  guard.addBehavior(new NpcVoiceBehavior('guard', parley));
  parley.mic.talking = true;
  // @ts-expect-error mic.mode takes 'open-mic' or 'push-to-talk'
  parley.mic.mode = 'always';
  const npcs: RoomStateView['npcs'] | undefined = parley.roomState?.npcs;
  console.log(npcStatusOf(npcs?.get('guard')));
  const full = await parley.voices.getAsync('guard');
  full.onStatusObservable.add((e) => console.log(e.state, e.progress));
  const voice: NpcVoiceStream = full;
  voice.onVisemesObservable.add((e) => console.log(e.track.keys.length));
  // @ts-expect-error streamPosition is read-only
  voice.streamPosition = 3;
  return voice.streamPosition;
}

// the names before the session split still compile (deprecated for one release)
export async function legacy(scene: Scene): Promise<void> {
  const old: ParleyVoice = await ParleyVoice.connect({ scene, url: 'ws://localhost:2567' });
  old.setTalking(old.isTalking);
  old.muted = !old.muted;
  old.onNpcStateObservable.add((e) => console.log(e.state));
  const voice: NpcVoiceStream = await old.voiceFor('guard');
  console.log(voice.playing, old.sentFrames);
}
`;

it('declarations compile in a consumer project', async () => {
  await run(process.execPath, ['plugin/scripts/build-types.mjs'], { cwd: root });
  const dir = path.join(root, 'tests/artifacts/types-consumer');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'consumer.ts'), consumer);
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'], types: [] },
      files: ['consumer.ts'],
    }),
  );
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: root }).catch((e) => e);
  expect(result.stdout ?? '').toBe('');
  expect(result.code ?? 0).toBe(0);
}, 120_000);
