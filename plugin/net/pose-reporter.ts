/**
 * Decides when the player's pose goes to the server: at most `maxHz` times a second, and only when the camera
 * moved or turned enough to matter for who hears whom. Pure logic; ParleyPose (parley.pose) feeds it the camera each frame.
 */
import type { Vec3 } from '../../protocol/messages.ts';

export interface PoseReporterOptions {
  /** most poses a second (default 10) */
  maxHz?: number;
  /** smallest movement worth sending, world units (default 0.05) */
  minMove?: number;
  /** smallest turn worth sending, degrees (default 3) */
  minTurnDeg?: number;
  /** send anyway this often, ms, so a lost pose heals (default 2000; 0 = never) */
  keepAliveMs?: number;
}

export class PoseReporter {
  private readonly minInterval: number;
  private readonly minMove2: number;
  private readonly cosTurn: number;
  private readonly keepAlive: number;
  private lastAt = -Infinity;
  private lastP: Vec3 | null = null;
  private lastF: Vec3 | null = null;

  constructor(
    private readonly send: (p: Vec3, f: Vec3) => void,
    options: PoseReporterOptions = {},
  ) {
    this.minInterval = 1000 / (options.maxHz ?? 10);
    const m = options.minMove ?? 0.05;
    this.minMove2 = m * m;
    this.cosTurn = Math.cos(((options.minTurnDeg ?? 3) * Math.PI) / 180);
    this.keepAlive = options.keepAliveMs ?? 2000;
  }

  /** Offer the current pose; returns whether it was sent. */
  update(nowMs: number, p: Vec3, f: Vec3): boolean {
    if (!p.every(Number.isFinite) || !f.every(Number.isFinite)) return false;
    const fl = Math.hypot(f[0], f[1], f[2]);
    if (fl === 0) return false;
    if (nowMs - this.lastAt < this.minInterval) return false;
    const due = this.keepAlive > 0 && nowMs - this.lastAt >= this.keepAlive;
    if (!due && this.lastP && this.lastF) {
      const dx = p[0] - this.lastP[0];
      const dy = p[1] - this.lastP[1];
      const dz = p[2] - this.lastP[2];
      const moved = dx * dx + dy * dy + dz * dz >= this.minMove2;
      const lf = Math.hypot(this.lastF[0], this.lastF[1], this.lastF[2]);
      const cos = (f[0] * this.lastF[0] + f[1] * this.lastF[1] + f[2] * this.lastF[2]) / (fl * lf);
      const turned = cos <= this.cosTurn;
      if (!moved && !turned) return false;
    }
    this.lastAt = nowMs;
    this.lastP = [p[0], p[1], p[2]];
    this.lastF = [f[0] / fl, f[1] / fl, f[2] / fl];
    this.send(this.lastP, this.lastF);
    return true;
  }

  /** Send the next pose offered whatever it is (after a reconnect). */
  invalidate(): void {
    this.lastAt = -Infinity;
    this.lastP = null;
    this.lastF = null;
  }
}
