import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Logger } from './logger'

/**
 * A thread's scheduler slice (Linux 6.12+, EEVDF): `sched_setattr(2)` with `sched_runtime` on a
 * normal thread. It is per thread and needs no privilege, but Node has no binding for it and
 * glibc no wrapper, so the call goes through Perl's `syscall`: perl-base is part of every Debian
 * and Ubuntu system, the container's image included. One short-lived process per thread that
 * asks, at start-up, off the thread's event loop.
 */

/** sched_setattr's system call number per Node architecture (the generic table's for arm64). */
const SCHED_SETATTR: Readonly<Partial<Record<string, number>>> = { x64: 314, arm64: 274 }

/**
 * struct sched_attr, first version (48 bytes): size, policy (SCHED_OTHER), flags, nice,
 * priority, runtime (the slice, ns), deadline, period. The nice goes in too: sched_setattr sets
 * it with the rest, so the thread's own is passed to keep it. Numbers get `+ 0`: Perl's syscall
 * passes a string argument as a pointer. Prints errno on failure.
 */
const SCRIPT = `my ($nr, $tid, $nice, $ns) = @ARGV;
my $attr = pack('LLQlLQQQ', 48, 0, 0, $nice, 0, $ns, 0, 0);
if (syscall($nr + 0, $tid + 0, $attr, 0) != 0) { print 0 + $!; exit 1 }`

/** Slow only on a starved machine; a thread that cannot get its slice still runs. */
const PERL_TIMEOUT_MS = 5000

/** errno values sched_setattr can give, by number, for the log line. */
const ERRNO: Readonly<Record<string, string>> = {
  '1': 'EPERM',
  '3': 'ESRCH',
  '7': 'E2BIG',
  '22': 'EINVAL',
  '38': 'ENOSYS',
}

/**
 * Asks for a `sliceUs` slice for thread `tid` (this thread: its nice must be `nice`), then reads
 * the slice in effect back from /proc. Logs `thread slice set`, or one warning saying why not
 * (no perl, an old kernel, another architecture), never fatal. Resolves with the slice in µs the
 * thread runs with, or undefined when it is not known to be the one asked for.
 */
export async function setThreadSlice(
  tid: number,
  nice: number,
  sliceUs: number,
  log: Logger,
): Promise<number | undefined> {
  const warn = (reason: string, extra: Record<string, unknown> = {}) => {
    log.warn({ tid, sliceUs, reason, ...extra }, 'thread slice not set')
    return undefined
  }
  const nr = SCHED_SETATTR[process.arch]
  if (nr === undefined) return warn(`no sched_setattr number known for ${process.arch}`)
  const failure = await new Promise<string | undefined>((resolve) => {
    execFile(
      'perl',
      ['-e', SCRIPT, String(nr), String(tid), String(nice), String(sliceUs * 1000)],
      { timeout: PERL_TIMEOUT_MS },
      (error, stdout) => {
        if (!error) return resolve(undefined)
        const code = (error as { code?: unknown }).code
        if (code === 'ENOENT') return resolve('perl not found (perl-base gives it)')
        const errno = stdout.trim()
        resolve(
          errno
            ? `sched_setattr failed: ${ERRNO[errno] ?? `errno ${errno}`}`
            : `perl failed: ${error.message}`,
        )
      },
    )
  })
  if (failure) return warn(failure)
  const inEffect = sliceInEffectUs(tid)
  // Before 6.12 the call succeeds and the kernel keeps its own slice.
  if (inEffect !== undefined && inEffect !== sliceUs)
    return warn('the kernel kept its own slice (per-thread slices need Linux 6.12+)', {
      kernelSliceUs: inEffect,
    })
  log.info(
    { tid, sliceUs, ...(inEffect === undefined ? { checked: false } : {}) },
    'thread slice set',
  )
  return sliceUs
}

/** `se.slice` from /proc/<tid>/sched (kernels built with scheduler debugging), in µs. */
export function sliceInEffectUs(tid: number): number | undefined {
  try {
    const sched = readFileSync(`/proc/${process.pid}/task/${tid}/sched`, 'utf8')
    const ns = /^se\.slice\s*:\s*(\d+)/m.exec(sched)?.[1]
    return ns === undefined ? undefined : Math.round(Number(ns) / 1000)
  } catch {
    return undefined
  }
}
