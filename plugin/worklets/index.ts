/** Entry of the worklet bundle: registers both processors in the AudioWorkletGlobalScope. */
import './capture-processor.ts';
import './playback-processor.ts';
