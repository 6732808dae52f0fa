/**
 * The HUD: the link to the server, the microphone (mode, push-to-talk key, level), which NPC hears the player
 * best, who is talking to whom (NPCs answering you or each other), the engine's own honest label, echo cancellation (on/off and its current echo return loss enhancement),
 * and live latency figures; plus a banner for problems (server gone).
 */
import type { MicMode, SessionState } from '../../plugin/index.ts';

export interface MicView {
  available: boolean;
  mode: MicMode;
  muted: boolean;
  /** push-to-talk key held */
  talking: boolean;
  /** whether the last frame was sent */
  sent: boolean;
  dbfs: number;
}

export interface LatencyView {
  rttMs: number | null;
  /** the audible NPC's playback buffer, and its target */
  bufferMs: number | null;
  targetMs: number | null;
  underruns: number | null;
  replyMs: number | null;
  yieldMs: number | null;
}

export interface EchoView {
  /** the plugin's canceller runs */
  on: boolean;
  /** the player said they wear headphones (so it was left off) */
  headphones: boolean;
  /** echo return loss enhancement over the last ~0.4 s of NPC voice, dB (NaN before any) */
  erleDb: number;
}

const SESSION_TEXT: Record<SessionState, string> = {
  connecting: 'connecting…',
  joined: 'joined, waiting for the server…',
  ready: 'connected',
  reconnecting: 'connection lost — reconnecting…',
  rejoining: 'server gone — re-joining the room…',
  disconnected: 'disconnected',
  refused: 'refused by the server',
};

const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);

export class Hud {
  private readonly el = (id: string) => document.getElementById(id)!;
  private readonly root = this.el('hud');
  private readonly help = this.el('help');
  private readonly session = this.el('hud-session');
  private readonly mic = this.el('hud-mic');
  private readonly meter = this.el('hud-meter').firstElementChild as HTMLElement;
  private readonly heard = this.el('hud-heard');
  private readonly talk = this.el('hud-talk');
  private readonly engine = this.el('hud-engine');
  private readonly latency = this.el('hud-latency');
  private readonly echo = this.el('hud-echo');
  private readonly helpPtt = this.el('help-ptt');
  private readonly bannerEl = this.el('banner');

  constructor(private readonly pttLabel: string) {}

  show(): void {
    this.root.hidden = false;
    this.help.hidden = false;
  }

  setSession(state: SessionState, reason?: string): void {
    this.session.textContent = SESSION_TEXT[state] + (reason && state !== 'ready' ? ` (${reason})` : '');
  }

  setMic(m: MicView): void {
    let text: string;
    let cls: string;
    if (!m.available) [text, cls] = ['off — listen-only (no microphone)', 'mic-off'];
    else if (m.muted) [text, cls] = ['muted — press M to unmute', 'mic-off'];
    else if (m.mode === 'push-to-talk') [text, cls] = m.talking ? [`talking (${this.pttLabel} held)`, 'mic-live'] : [`push-to-talk — hold ${this.pttLabel}`, 'mic-idle'];
    else [text, cls] = ['open mic — live', 'mic-live'];
    if (this.mic.textContent !== text) this.mic.textContent = text;
    this.mic.className = cls;
    const level = m.available && m.sent ? Math.max(0, Math.min(1, (m.dbfs + 60) / 60)) : 0;
    this.meter.style.width = `${Math.round(level * 100)}%`;
    this.helpPtt.textContent = m.mode === 'push-to-talk' ? `hold ${this.pttLabel}` : `(${this.pttLabel} in push-to-talk)`;
  }

  setHeardBy(name: string | null): void {
    const text = name ? `${name} hears you best` : 'nobody (walk up to someone)';
    if (this.heard.textContent !== text) this.heard.textContent = text;
  }

  /** Who is talking to whom: one "Dr. Okafor → Commander Vance" per speaking NPC (empty: nobody speaks). */
  setTalk(lines: string[]): void {
    const text = lines.length ? lines.join(' · ') : '—';
    if (this.talk.textContent !== text) this.talk.textContent = text;
  }

  /** The engine's label as the server states it; the CPU default says it recognises only its sheet's topics. */
  setEngine(label: string): void {
    if (this.engine.textContent === label) return;
    this.engine.textContent = label || '—';
    this.engine.classList.toggle('cpu', /does not understand|not a language model/i.test(label));
  }

  /** Echo cancellation: on with its current ERLE, or off and why. */
  setEcho(e: EchoView): void {
    const text = e.on
      ? `cancellation on · ERLE ${Number.isFinite(e.erleDb) ? `${Math.round(e.erleDb)} dB` : '— (no NPC voice yet)'}`
      : e.headphones
        ? 'cancellation off (headphones)'
        : 'cancellation off';
    if (this.echo.textContent !== text) this.echo.textContent = text;
  }

  setLatency(l: LatencyView): void {
    const parts = [
      `round trip ${ms(l.rttMs)}`,
      `voice buffer ${l.bufferMs === null ? '—' : `${Math.round(l.bufferMs)}/${Math.round(l.targetMs ?? 0)} ms`}${l.underruns ? ` (${l.underruns} underruns)` : ''}`,
      `reply ${ms(l.replyMs)}`,
      `yield ${ms(l.yieldMs)}`,
    ];
    const text = parts.join(' · ');
    if (this.latency.textContent !== text) this.latency.textContent = text;
  }

  /** A problem the player should know about (null hides it). */
  banner(text: string | null, kind: 'error' | 'info' = 'error'): void {
    this.bannerEl.hidden = !text;
    this.bannerEl.textContent = text ?? '';
    this.bannerEl.className = kind === 'info' ? 'info' : '';
  }
}
