/**
 * Orders nodes so that every node comes after the nodes it takes input from (Kahn's
 * algorithm); null when the edges form a cycle.
 */
export function topologicalOrder(ids: string[], edges: { from: string; to: string }[]): string[] | null {
  const waiting = new Map(ids.map((id) => [id, 0]));
  for (const e of edges) waiting.set(e.to, (waiting.get(e.to) ?? 0) + 1);
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(id);
    for (const e of edges) {
      if (e.from !== id) continue;
      const left = (waiting.get(e.to) ?? 0) - 1;
      waiting.set(e.to, left);
      if (left === 0) ready.push(e.to);
    }
  }
  return order.length === ids.length ? order : null;
}
