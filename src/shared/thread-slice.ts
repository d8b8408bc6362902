import type * as ChildProcess from 'node:child_process'
import { constants } from 'node:os'
import type { Log } from './log'

/**
 * A thread's scheduler slice (Linux 6.12+, EEVDF): `sched_setattr(2)` with `sched_runtime` on a
 * normal thread. It is per thread and needs no privilege, but Node has no binding for it and
 * glibc no wrapper, so the call goes through Perl's `syscall`: perl-base is part of every Debian
 * and Ubuntu system, the container's image included. One short-lived process per thread that
 * asks, at start-up, off the thread's event loop.
 */

/** sched_setattr and sched_getattr per Node architecture (arm64: the generic table). */
const SYSCALLS: Readonly<Partial<Record<string, { set: number; get: number }>>> = {
  x64: { set: 314, get: 315 },
  arm64: { set: 274, get: 275 },
}

/**
 * Reads the thread's struct sched_attr (first version, 48 bytes: size, policy, flags, nice,
 * priority, runtime, deadline, period), writes it back with the slice as its runtime, and reads
 * the runtime again: since Linux 6.12 it is the slice in effect, before that 0, because older
 * kernels accept the call and ignore the runtime of a normal thread.
 * - The policy and nice go back as they were: sched_setattr sets them with the rest, and a
 *   SCHED_BATCH or SCHED_IDLE thread must stay one (leaving SCHED_IDLE even needs privilege).
 * - SCHED_FLAG_RESET_ON_FORK (1): threads this one starts later (a piscina pool's, which run
 *   long handlers) get the kernel's slice, not the short one.
 * - Numbers get `+ 0`: Perl's syscall passes a string argument as a pointer.
 * Prints `ok <runtime ns>`, `errno <n>`, or `policy <n>` for a thread that is not a normal one.
 */
const SCRIPT = `my ($set, $get, $tid, $ns) = @ARGV;
sub attr { my $a = "\\0" x 48; syscall($get + 0, $tid + 0, $a, 48, 0) == 0 or do { print "errno ", 0 + $!; exit 1 }; unpack('LLQlLQQQ', $a) }
my (undef, $policy, undef, $nice, $priority) = attr();
if ($policy != 0 && $policy != 3 && $policy != 5) { print "policy $policy"; exit 1 }
syscall($set + 0, $tid + 0, pack('LLQlLQQQ', 48, $policy, 1, $nice, $priority, $ns, 0, 0), 0) == 0 or do { print "errno ", 0 + $!; exit 1 };
my @now = attr();
print "ok $now[5]"`

/** Slow only on a starved machine; a thread that cannot get its slice still runs. */
const PERL_TIMEOUT_MS = 5000

/** errno names by number, for the log line. */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [String(n), name]))

/**
 * Asks for a `sliceUs` slice for thread `tid`, keeping its policy and nice, and reads the slice
 * in effect back. Logs `thread slice set`, or one warning saying why not (no perl, an old
 * kernel, another architecture, a real-time thread), never fatal. Resolves with the slice in µs
 * the thread runs with, or undefined when it did not get the one asked for.
 */
export async function setThreadSlice(
  tid: number,
  sliceUs: number,
  log: Log,
): Promise<number | undefined> {
  const warn = (reason: string) => {
    log.warn({ tid, sliceUs, reason }, 'thread slice not set')
    return undefined
  }
  const calls = SYSCALLS[process.arch]
  if (calls === undefined) return warn(`no sched_setattr number known for ${process.arch}`)
  // Loaded only for a slice, which is opt-in: node:child_process adds about 1.5 ms to the start
  // of every receive thread that loads it.
  const { execFile } = require('node:child_process') as typeof ChildProcess
  const result = await new Promise<{ out: string; failure?: string }>((resolve) => {
    execFile(
      'perl',
      ['-e', SCRIPT, String(calls.set), String(calls.get), String(tid), String(sliceUs * 1000)],
      // Nothing from the environment but PATH: PERL5OPT and the like would change the script.
      { timeout: PERL_TIMEOUT_MS, env: process.env.PATH ? { PATH: process.env.PATH } : {} },
      (error, stdout) => {
        const out = stdout.trim()
        if (!error) return resolve({ out })
        const { code, killed } = error as { code?: unknown; killed?: boolean }
        if (code === 'ENOENT')
          return resolve({ out, failure: 'perl not found (perl-base gives it)' })
        if (killed) return resolve({ out, failure: `perl timed out after ${PERL_TIMEOUT_MS} ms` })
        resolve({ out, failure: out ? '' : `perl failed: exit ${String(code)}` })
      },
    )
  })
  const [word, value = ''] = result.out.split(' ')
  if (result.failure) return warn(result.failure)
  if (word === 'errno')
    return warn(`sched_setattr failed: ${ERRNO_NAMES.get(value) ?? `errno ${value}`}`)
  if (word === 'policy')
    return warn(`the thread's policy (${value}) is not a normal one: slices are for those`)
  const inEffectUs = Number(value) / 1000
  // Before 6.12 the call succeeds and the kernel keeps its own slice.
  if (word !== 'ok' || inEffectUs !== sliceUs)
    return warn(`the kernel kept its own slice (per-thread slices need Linux 6.12+)`)
  log.info({ tid, sliceUs }, 'thread slice set')
  return sliceUs
}
