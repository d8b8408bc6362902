/**
 * tmux cannot push a pane's content, so this reads it until `done` holds: a wait on output
 * with a deadline, not a sleep standing in for one.
 */
export async function waitForPane(
  read: () => string,
  done: (screen: string) => boolean,
  deadlineMs = 10_000,
): Promise<string> {
  const until = performance.now() + deadlineMs
  for (;;) {
    const screen = read()
    if (done(screen)) return screen
    if (performance.now() > until) throw new Error(`pane never matched:\n${screen}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** How often `pattern` occurs in `text` (lines of a captured pane, say). */
export function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length
}
