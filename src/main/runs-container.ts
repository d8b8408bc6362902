/**
 * Whether the command line runs the container: no command, or `run` alone. Its own module, with
 * no imports, because the entry script (dist/main.js) asks it first, to choose between the main
 * thread's bundle (the container) and the command-line tools.
 */
export function runsContainer(argv: readonly string[]): boolean {
  const [command = 'run', ...rest] = argv
  return command === 'run' && rest.length === 0
}
