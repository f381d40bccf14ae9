import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/process.js';
import { fileChildren } from '../helpers/children.js';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `genjobs` binary to its end (without blocking this process: the server may be
 * in it). The run is in the file's group of children: one a timed-out test left is killed.
 */
export function runCli(args: string[], env: Record<string, string>, command: string[] = [process.execPath, CLI]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = fileChildren.add(spawn(command[0]!, [...command.slice(1), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** An error is one line on stderr, starting `genjobs: `, with no stack trace. */
export function assertOneLine(r: CliRun, pattern: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, /^genjobs: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

