/**
 * The start screen: one click unlocks audio (the AudioContext is created inside the click, as browsers require)
 * and asks for the microphone. A refused or missing microphone gets a plain explanation and the choice to
 * play listen-only; a server that cannot be reached gets its own message and a retry.
 */
import type { MicMode } from '../../plugin/index.ts';

export interface Boarding {
  mode: MicMode;
  audioContext: AudioContext;
  /** the microphone, or null to play listen-only */
  stream: MediaStream | null;
}

/** Same processing the plugin asks for by default: the browser's echo cancellation matters for open mic. */
const MIC_CONSTRAINTS: MediaStreamConstraints = {
  audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
};

/** A readable sentence for a getUserMedia failure. */
export function micErrorMessage(err: unknown): string {
  const name = (err as { name?: string })?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Microphone access was blocked. Allow the microphone for this site (the icon in the address bar) and try again — or continue without one: you will still hear the crew.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Plug one in and try again — or continue without one: you will still hear the crew.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The microphone could not be opened (another application may be using it). Close it and try again — or continue without a microphone.';
    case 'NoMediaDevices':
      return 'This page has no microphone access: browsers only offer one on https:// or http://localhost. Open the game through one of those — or continue without a microphone.';
    default:
      return `The microphone could not be started (${(err as Error)?.message || name || 'unknown error'}). Try again — or continue without one.`;
  }
}

export class StartScreen {
  private readonly root = document.getElementById('start')!;
  private readonly board = document.getElementById('board') as HTMLButtonElement;
  private readonly status = document.getElementById('start-status')!;
  private readonly errorBox = document.getElementById('start-error')!;
  private readonly errorText = document.getElementById('start-error-text')!;
  private readonly retry = document.getElementById('retry') as HTMLButtonElement;
  private readonly listenOnly = document.getElementById('listen-only') as HTMLButtonElement;
  private ctx: AudioContext | null = null;

  /**
   * Runs until `enter` succeeds: each attempt asks for the mic (unless the player chose listen-only) and hands
   * the result to `enter`, which connects; its error message is shown and the player may retry.
   */
  run(enter: (b: Boarding) => Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      let busy = false;
      const attempt = async (withMic: boolean) => {
        if (busy) return;
        busy = true;
        this.hideError();
        this.board.disabled = true;
        // inside the click: the context starts running, so NPC voices are audible at once
        this.ctx ??= new AudioContext({ latencyHint: 'interactive' });
        void this.ctx.resume();
        const mode = ((document.querySelector('input[name="mode"]:checked') as HTMLInputElement | null)?.value ?? 'open-mic') as MicMode;
        let stream: MediaStream | null = null;
        if (withMic) {
          this.setStatus('Asking for the microphone…');
          try {
            if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('no mediaDevices'), { name: 'NoMediaDevices' });
            stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
          } catch (err) {
            this.showError(micErrorMessage(err), true);
            busy = false;
            return;
          }
        }
        this.setStatus('Connecting to the ship…');
        try {
          await enter({ mode, audioContext: this.ctx, stream });
        } catch (err) {
          for (const t of stream?.getTracks() ?? []) t.stop();
          this.showError((err as Error).message, !withMic);
          busy = false;
          return;
        }
        this.root.hidden = true;
        resolve();
      };
      this.board.onclick = () => void attempt(true);
      this.retry.onclick = () => void attempt(true);
      this.listenOnly.onclick = () => void attempt(false);
    });
  }

  private setStatus(text: string) {
    this.status.textContent = text;
  }

  private showError(text: string, offerListenOnly: boolean) {
    this.setStatus('');
    this.errorText.textContent = text;
    this.listenOnly.hidden = !offerListenOnly;
    this.errorBox.hidden = false;
    this.board.hidden = true;
  }

  private hideError() {
    this.errorBox.hidden = true;
  }
}
