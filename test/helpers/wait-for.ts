/** Polls `probe` every 100 ms until it returns a value, or throws naming `what` after `limitMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
