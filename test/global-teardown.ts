import fs from 'node:fs';
import { dropDatabase } from '../src/db/admin';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__testPostgres;
  if (!state) return;
  await dropDatabase(state.adminUrl, state.template).catch(() => undefined);
  await state.embedded?.stop();
  if (state.tempDir) fs.rmSync(state.tempDir, { recursive: true, force: true });
}
