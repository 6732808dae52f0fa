/** Engine selection from the environment, as `npm start` does it, with clear errors for bad settings. */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../server/config.ts';
import { startEngine } from '../../server/engines/select.ts';
import { configFromEnv as personaplexServerConfig } from '../../server/engines/personaplex-server/config.ts';
import { configFromEnv as rehearsalConfig, rehearsalWorkerCount } from '../../server/engines/rehearsal/config.ts';
import { configFromEnv as onnxConfig } from '../../server/engines/personaplex-onnx/config.ts';
import { silentLogger } from '../../server/log.ts';
import { StandInServer } from '../personaplex-server/stand-in-server.ts';
import type { DuplexEngine } from '../../server/engines/contract.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

describe('configuration', () => {
  it('defaults to the rehearsal engine on port 2567 and refuses unknown engines and bad numbers', () => {
    const c = loadConfig({});
    expect([c.engine.name, c.port, c.promptBudget, c.hotReload]).toEqual(['rehearsal', 2567, 200, true]);
    expect(loadConfig({ NODE_ENV: 'production' }).hotReload).toBe(false);
    expect(() => loadConfig({ PARLEY_ENGINE: 'gpt' })).toThrow(/PARLEY_ENGINE=gpt is not one of: rehearsal, personaplex-server, personaplex-onnx/);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PARLEY_PROMPT_BUDGET: '0' })).toThrow(/PARLEY_PROMPT_BUDGET=0/);
  });

  it('validates the engine settings with the same rules, when the configuration loads', () => {
    expect(rehearsalConfig({}).workers).toBe(rehearsalWorkerCount());
    expect(rehearsalConfig({ PARLEY_REHEARSAL_WORKERS: '1' }).workers).toBe(1);
    expect(() => rehearsalConfig({ PARLEY_REHEARSAL_WORKERS: 'two' })).toThrow(ConfigError);
    expect(() => loadConfig({ PARLEY_REHEARSAL_WORKERS: '0' })).toThrow(/PARLEY_REHEARSAL_WORKERS=0 is not a whole number between 1 and 1024/);
    expect(() => loadConfig({ PARLEY_ENGINE: 'personaplex-onnx' })).toThrow(/PARLEY_PERSONAPLEX_ONNX_DIR/);
    expect(() => onnxConfig({ PARLEY_PERSONAPLEX_ONNX_DIR: '/m', PARLEY_PERSONAPLEX_ONNX_CAPACITY: '1.5' })).toThrow(/PARLEY_PERSONAPLEX_ONNX_CAPACITY=1.5/);
    expect(onnxConfig({ PARLEY_PERSONAPLEX_ONNX_DIR: '/m', PARLEY_PERSONAPLEX_ONNX_CAPACITY: '4' })).toEqual({ modelDir: '/m', providers: ['cpu'], capacity: 4 });
    expect(() => loadConfig({ PARLEY_ENGINE: 'personaplex-server', PARLEY_PERSONAPLEX_SERVERS: 'http://a:1', PARLEY_PERSONAPLEX_TEXT_LEAD: '-1' })).toThrow(
      /PARLEY_PERSONAPLEX_TEXT_LEAD=-1/,
    );
    expect(personaplexServerConfig({ PARLEY_PERSONAPLEX_SERVERS: 'http://a:1', PARLEY_PERSONAPLEX_TEXT_LEAD: '2' }).textLeadFrames).toBe(2);
  });

  it('parses PersonaPlex server lists and says what is wrong with a bad one', () => {
    expect(personaplexServerConfig({ PARLEY_PERSONAPLEX_SERVERS: 'http://a:8998, http://b:8000*32' }).servers).toEqual([
      { url: 'http://a:8998', capacity: 1 },
      { url: 'http://b:8000', capacity: 32 },
    ]);
    expect(() => personaplexServerConfig({})).toThrow(/needs PARLEY_PERSONAPLEX_SERVERS/);
    expect(() => personaplexServerConfig({ PARLEY_PERSONAPLEX_SERVERS: 'gpu-host*2' })).toThrow(/'gpu-host\*2' is not url or url\*capacity/);
    expect(() => personaplexServerConfig({ PARLEY_PERSONAPLEX_SERVERS: 'ftp://gpu-host' })).toThrow(ConfigError);
    expect(() => personaplexServerConfig({ PARLEY_PERSONAPLEX_CONFIG: '/nonexistent.yaml' })).toThrow(/PARLEY_PERSONAPLEX_CONFIG=\/nonexistent.yaml/);
  });

  it('starts the personaplex-server engine against a server speaking the official protocol', async () => {
    const standIn = await StandInServer.start({ promptMs: 50 });
    cleanup.push(() => standIn.close());
    const config = loadConfig({ PARLEY_ENGINE: 'personaplex-server', PARLEY_PERSONAPLEX_SERVERS: `${standIn.url}*1` });
    const engine: DuplexEngine = await startEngine(config.engine, silentLogger);
    cleanup.push(() => engine.dispose());
    expect(engine.capacity).toBe(1);
    const id = await engine.open({ id: 'alex', name: 'Alex', textPrompt: 'You are an astronaut.', voice: { kind: 'builtin', id: 'NATM1' } });
    expect(typeof id).toBe('number');
    expect(standIn.stats.queries[0]).toEqual({ text_prompt: 'You are an astronaut.', voice_prompt: 'NATM1.pt' });
  });
});
