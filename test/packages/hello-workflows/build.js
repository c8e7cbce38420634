// The package's build: copies src/ to dist/ (a real package would compile TypeScript here).
import { cpSync } from 'node:fs';

cpSync(new URL('./src/', import.meta.url), new URL('./dist/', import.meta.url), { recursive: true });
