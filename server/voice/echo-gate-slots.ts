/**
 * How many gates may run a canceller at once in this process. A gate costs about 1 ms of CPU per frame while its
 * player is sent NPC voice, and by default any client that does not say it cancels its own echo gets one, a
 * hostile one included: without a cap, many such clients near talking NPCs would take the server's real time.
 * A gate that finds no slot passes its player's voice through uncancelled until one frees (nothing is lost).
 */
export class EchoGateSlots {
  running = 0;
  /** times a gate found every slot taken */
  refusals = 0;
  private full = false;

  /** `onFull` is told once each time the cap is reached after having room (for a log line). */
  constructor(
    readonly max: number,
    private readonly onFull?: (max: number) => void,
  ) {}

  take(): boolean {
    if (this.running < this.max) {
      this.running++;
      this.full = false;
      return true;
    }
    this.refusals++;
    if (!this.full) this.onFull?.(this.max);
    this.full = true;
    return false;
  }

  give(): void {
    this.running = Math.max(0, this.running - 1);
  }
}
