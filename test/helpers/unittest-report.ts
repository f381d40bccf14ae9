/** Reading the verbose report of Python's unittest (`python -m unittest -v`) into results. */

/** One line of unittest's verbose report, and the traceback of a failure or an error. */
export interface PythonResult {
  id: string;
  outcome: 'ok' | 'FAIL' | 'ERROR' | 'skipped' | 'expected failure' | 'unexpected success';
  detail: string;
}

/**
 * Reads `python -m unittest -v` output. A result line is `name (module.Class[.name]) ... ok`
 * (3.11 adds the method to the parenthesis; a method with a docstring puts its first line on a
 * line of its own before ` ... `). Tracebacks follow under `FAIL: name (id)` / `ERROR: name (id)`.
 */
export function parseUnittest(output: string): { results: PythonResult[]; ran: number | null } {
  const lines = output.split(/\r?\n/);
  const results: PythonResult[] = [];
  const byId = new Map<string, PythonResult>();
  const head = /^(\w+) \(([\w.]+)\)(.*)$/;
  const tail = / \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$/;
  const idOf = (name: string, where: string) => (where.endsWith(`.${name}`) ? where : `${where}.${name}`);
  for (let i = 0; i < lines.length; i++) {
    const h = head.exec(lines[i]!);
    if (!h) continue;
    const [, name, where, rest] = h;
    const t = tail.exec(rest!) ?? (i + 1 < lines.length && !head.test(lines[i + 1]!) ? tail.exec(lines[i + 1]!) : null);
    if (!t) continue;
    const verdict = t[1]!;
    const result: PythonResult = {
      id: idOf(name!, where!),
      outcome: verdict.startsWith('skipped') ? 'skipped' : (verdict as PythonResult['outcome']),
      detail: verdict.startsWith('skipped') ? verdict.slice('skipped'.length).trim() : '',
    };
    results.push(result);
    byId.set(result.id, result);
  }
  const block = /^(FAIL|ERROR): (\w+) \(([\w.]+)\)/;
  for (let i = 0; i < lines.length; i++) {
    const b = block.exec(lines[i]!);
    if (!b) continue;
    let j = i + 1;
    if (j < lines.length && /^-{20,}$/.test(lines[j]!)) j++;
    const body: string[] = [];
    for (; j < lines.length && !/^(={20,}|-{20,})$/.test(lines[j]!); j++) body.push(lines[j]!);
    const target = byId.get(idOf(b[2]!, b[3]!));
    if (target) target.detail = body.join('\n').trim();
  }
  const ran = /^Ran (\d+) tests? in /m.exec(output);
  return { results, ran: ran ? Number(ran[1]) : null };
}
