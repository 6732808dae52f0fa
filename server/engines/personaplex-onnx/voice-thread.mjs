// Voice conversion thread entry: worker threads do not inherit the parent's TypeScript loader, so register tsx first.
import { register } from 'tsx/esm/api';

register();
await import('./voice-worker.ts');
