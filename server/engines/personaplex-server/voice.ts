/**
 * What goes into `voice_prompt`. The official server joins it onto its --voice-prompt-dir with os.path.join, so
 * a '/' or '..' in it would read any file on the GPU host: only a bare file name of a known shape is ever sent.
 * Built-in voices are `<ID>.pt` (precomputed embeddings). A WAV voice is sent by its base name only; the file must
 * already sit in the server's voice directory (copy it there when deploying).
 */
import { isBuiltinVoice, type VoiceRef } from '../../persona/persona.ts';

const SAFE_WAV_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.wav$/;

export function voicePromptName(voice: VoiceRef): string {
  if (voice.kind === 'builtin') {
    if (!isBuiltinVoice(voice.id)) throw new Error(`unknown built-in voice ${JSON.stringify(voice.id)}`);
    return `${voice.id}.pt`;
  }
  if (voice.kind === 'wav') {
    if (typeof voice.path !== 'string' || voice.path.length === 0) throw new Error('WAV voice has no path');
    const base = voice.path.split(/[\\/]/).pop()!;
    if (!SAFE_WAV_NAME.test(base)) {
      throw new Error(
        `WAV voice file name ${JSON.stringify(base)} is not allowed: use letters, digits, '_' or '-' and a .wav extension ` +
          `(the file must be in the PersonaPlex server's --voice-prompt-dir)`,
      );
    }
    return base;
  }
  throw new Error(`unknown voice kind ${JSON.stringify((voice as { kind?: unknown }).kind)}`);
}
