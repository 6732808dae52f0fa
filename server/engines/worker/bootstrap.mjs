// The one worker-thread entry: worker threads do not inherit the parent's TypeScript loader, so register tsx
// here, then load the module the host named (server/engines/worker/host.ts passes it in workerData).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.module);
