// File helpers for cli/: the one implementation lives in src/store/files.ts (new files refuse to
// overwrite, secrets are created 0600, replacements are atomic).
export { ensureDir, exists, readBytes, readText, writeFileAtomic, writeNewFile } from '../src/store/files.js';
