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
import { ParleyVoice, NpcVoiceBehavior, type NpcVoiceStream, type SessionStateEvent, PROTOCOL_VERSION } from '../../../dist/plugin/parley-plugin.js';
import type { Scene } from '@babylonjs/core/scene.js';
import type { AbstractMesh } from '@babylonjs/core/Meshes/abstractMesh.js';

export async function start(scene: Scene, guard: AbstractMesh): Promise<number> {
  const parley = await ParleyVoice.connect({ scene, url: 'ws://localhost:2567', mode: 'push-to-talk', pushToTalkKey: 'KeyV' });
  parley.onSessionStateObservable.add((e: SessionStateEvent) => console.log(e.state, PROTOCOL_VERSION));
  guard.addBehavior(new NpcVoiceBehavior('guard', parley));
  const voice: NpcVoiceStream = await parley.voiceFor('guard');
  voice.onVisemesObservable.add((e) => console.log(e.track.keys.length));
  // @ts-expect-error streamPosition is read-only
  voice.streamPosition = 3;
  return voice.streamPosition;
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
