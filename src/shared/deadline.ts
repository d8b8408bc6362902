/**
 * Resolves with `promise`'s value, or with `onTimeout` once `ms` have passed, whichever is first.
 * The timer is cleared either way and never keeps the process alive.
 */
export function withDeadline<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<U>((resolve) => {
    timer = setTimeout(resolve, ms, onTimeout)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
