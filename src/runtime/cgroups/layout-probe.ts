/** What a look at one cgroup hierarchy found: a usable layout, or why it cannot be used. */
export type LayoutProbe<L> = { layout: L } | { why: string };
