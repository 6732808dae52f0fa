// Runs in Chromium (served from localhost). Measures how much the browser's echo canceller removes from the
// microphone when the page plays the very signal the (fake) microphone hears, per output route.
// The fake mic file and the played signal are the same periodic noise (period 0.5 s), so whatever the delay
// between them, a linear echo path exists for the canceller to find: it models perfect acoustic coupling.
window.__echo = async function measure(route, aec, seconds) {
  const PERIOD = 4800; // samples at 48 kHz (100 ms: any delay between the two is within the canceller's reach)
  const ctx = new AudioContext({ sampleRate: 48000 });
  await ctx.resume();
  const period = new Float32Array(PERIOD);
  let seed = 12345;
  for (let i = 0; i < PERIOD; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    period[i] = ((seed / 4294967296) * 2 - 1) * 0.25;
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: aec, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
  });
  window.__settings = stream.getAudioTracks()[0].getSettings();
  const mic = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  mic.connect(analyser);

  const buffer = ctx.createBuffer(1, PERIOD, 48000);
  buffer.copyToChannel(period, 0);
  const cleanups = [];
  const playSource = () => {
    const s = ctx.createBufferSource();
    s.buffer = buffer;
    s.loop = true;
    s.start();
    cleanups.push(() => s.stop());
    return s;
  };
  if (route === 'webaudio') {
    playSource().connect(ctx.destination);
  } else if (route === 'media-stream-element') {
    const dest = ctx.createMediaStreamDestination();
    playSource().connect(dest);
    const el = new Audio();
    el.srcObject = dest.stream;
    await el.play();
    cleanups.push(() => el.pause());
  } else if (route === 'webrtc-loopback') {
    const dest = ctx.createMediaStreamDestination();
    playSource().connect(dest);
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const remote = new Promise((r) => (b.ontrack = (e) => r(e.streams[0] ?? new MediaStream([e.track]))));
    dest.stream.getTracks().forEach((t) => a.addTrack(t, dest.stream));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    const el = new Audio();
    el.srcObject = await remote;
    await el.play();
    cleanups.push(() => { el.pause(); a.close(); b.close(); });
  } else if (route === 'media-element') {
    // a WAV of the same period, looped by an <audio> element
    const data = new Int16Array(PERIOD);
    for (let i = 0; i < PERIOD; i++) data[i] = Math.round(period[i] * 32767);
    const header = new DataView(new ArrayBuffer(44));
    const w = (o, s) => [...s].forEach((c, k) => header.setUint8(o + k, c.charCodeAt(0)));
    w(0, 'RIFF'); header.setUint32(4, 36 + data.byteLength, true); w(8, 'WAVE'); w(12, 'fmt ');
    header.setUint32(16, 16, true); header.setUint16(20, 1, true); header.setUint16(22, 1, true);
    header.setUint32(24, 48000, true); header.setUint32(28, 96000, true); header.setUint16(32, 2, true);
    header.setUint16(34, 16, true); w(36, 'data'); header.setUint32(40, data.byteLength, true);
    const el = new Audio(URL.createObjectURL(new Blob([header, data], { type: 'audio/wav' })));
    el.loop = true;
    await el.play();
    cleanups.push(() => el.pause());
  }
  // let the canceller converge, then average the mic level
  const settle = 3000;
  await new Promise((r) => setTimeout(r, settle));
  const frame = new Float32Array(analyser.fftSize);
  let sum = 0, n = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    analyser.getFloatTimeDomainData(frame);
    for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
    n += frame.length;
    await new Promise((r) => setTimeout(r, 40));
  }
  cleanups.forEach((c) => c());
  stream.getTracks().forEach((t) => t.stop());
  await ctx.close();
  return Math.sqrt(sum / n);
};
