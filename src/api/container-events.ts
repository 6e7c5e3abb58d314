/** Docker's event attributes for a container: its labels, image and name (what `/events` filters match). */
export function containerAttributes(c: { name: string; spec: { labels: Record<string, string> } }): Record<string, string> {
  const labels = Object.fromEntries(Object.entries(c.spec.labels).filter(([k]) => !k.startsWith('mayfly.')));
  return { ...labels, image: c.spec.labels['mayfly.image'] ?? '', name: c.name };
}
