// Test-only AudioWorklet: passes its stereo input on and posts each render quantum, with its context time.
class ParleyTestRecorder extends AudioWorkletProcessor {
  process(inputs, outputs) {
    const input = inputs[0];
    if (input && input.length) {
      const l = input[0];
      const r = input[1] ?? input[0];
      this.port.postMessage({ t: currentTime, l: l.slice(), r: r.slice() });
      if (outputs[0]?.[0]) outputs[0][0].set(l);
      if (outputs[0]?.[1]) outputs[0][1].set(r);
    }
    return true;
  }
}
registerProcessor('parley-test-recorder', ParleyTestRecorder);
