/**
 * Opt-in echo workaround for Chromium: its echo canceller only takes WebRTC playout as the echo reference
 * (crbug.com/687574), so Web Audio output reaches the mic uncancelled. This routes the audio engine's output
 * through a local RTCPeerConnection pair into an <audio> element, which is WebRTC playout. Costs: a WebRTC
 * jitter buffer of latency (tens of ms, not counted in the voices' samples-played clocks) and an Opus
 * round trip (stereo at 128 kb/s, so HRTF panning survives). Headphones remain the reliable answer.
 */

/** Ask for stereo Opus at a high bitrate in an SDP (WebRTC otherwise sends mono, losing the HRTF cues). */
function stereoOpus(sdp: string): string {
  const m = /a=rtpmap:(\d+) opus\/48000\/2/i.exec(sdp);
  if (!m) return sdp;
  const pt = m[1];
  return sdp.replace(new RegExp(`a=fmtp:${pt} ([^\\r\\n]*)`), (_all, params: string) => {
    const extra = ['stereo=1', 'sprop-stereo=1', 'maxaveragebitrate=128000'].filter((p) => !params.includes(p.split('=')[0]));
    return `a=fmtp:${pt} ${[params, ...extra].join(';')}`;
  });
}

export class WebRtcLoopback {
  private constructor(
    private readonly ctx: AudioContext,
    private readonly output: AudioNode,
    private readonly dest: MediaStreamAudioDestinationNode,
    private readonly send: RTCPeerConnection,
    private readonly recv: RTCPeerConnection,
    readonly element: HTMLAudioElement,
  ) {}

  /** Re-route `output` (the engine's last node, now connected to ctx.destination) through the loopback. */
  static async start(ctx: AudioContext, output: AudioNode): Promise<WebRtcLoopback> {
    if (typeof RTCPeerConnection === 'undefined') throw new Error('Parley: echoLoopback needs WebRTC (RTCPeerConnection)');
    const dest = ctx.createMediaStreamDestination();
    dest.channelCount = 2;
    const send = new RTCPeerConnection();
    const recv = new RTCPeerConnection();
    send.onicecandidate = (e) => e.candidate && void recv.addIceCandidate(e.candidate).catch(() => {});
    recv.onicecandidate = (e) => e.candidate && void send.addIceCandidate(e.candidate).catch(() => {});
    const remote = new Promise<MediaStream>((resolve) => {
      recv.ontrack = (e) => resolve(e.streams[0] ?? new MediaStream([e.track]));
    });
    for (const track of dest.stream.getAudioTracks()) send.addTrack(track, dest.stream);
    const offer = await send.createOffer();
    await send.setLocalDescription(offer);
    await recv.setRemoteDescription({ type: 'offer', sdp: stereoOpus(offer.sdp ?? '') });
    const answer = await recv.createAnswer();
    const sdp = stereoOpus(answer.sdp ?? '');
    await recv.setLocalDescription({ type: 'answer', sdp });
    await send.setRemoteDescription({ type: 'answer', sdp });
    const element = new Audio();
    element.autoplay = true;
    element.srcObject = await remote;
    output.disconnect();
    output.connect(dest);
    await element.play().catch(() => {}); // autoplay may wait for the first gesture; the unlock resumes it
    return new WebRtcLoopback(ctx, output, dest, send, recv, element);
  }

  /** Bytes of audio that came through the loopback so far. */
  async bytesReceived(): Promise<number> {
    let bytes = 0;
    (await this.recv.getStats()).forEach((s: { type?: string; kind?: string; bytesReceived?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived ?? 0;
    });
    return bytes;
  }

  /** Resume the element after a user gesture (autoplay policies). */
  resume(): void {
    if (this.element.paused) void this.element.play().catch(() => {});
  }

  /** Put the output back on the speakers directly. */
  stop(): void {
    this.element.pause();
    this.element.srcObject = null;
    this.send.close();
    this.recv.close();
    try {
      this.output.disconnect(this.dest);
    } catch {
      // already disconnected
    }
    if (this.ctx.state !== 'closed') this.output.connect(this.ctx.destination);
  }
}
