// Runs the appwarden CLI in process, capturing what it writes: the one helper every CLI suite uses.
import { main } from '../../server/cli.ts';

/** What one CLI run gave: its exit code and everything written to stdout and stderr. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `appwarden <args>` in this process (stdin reads as `stdin`, empty by default). */
export async function runCli(args: string[], stdin = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readStdin: async () => stdin,
  });
  return { code, stdout, stderr };
}
