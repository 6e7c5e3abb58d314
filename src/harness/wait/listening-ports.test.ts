import { describe, expect, it } from 'vitest';
import { after, FakeWaitTarget } from './fake-target.js';
import { Wait, waitUntilReady } from './index.js';

describe('Wait.forListeningPorts', () => {
  it('waits until every port listens inside the container', async () => {
    const t = new FakeWaitTarget();
    t.listeningPorts = [5432];
    after(80, () => (t.listeningPorts = [5432, 6379]));
    await waitUntilReady(t, Wait.forListeningPorts(5432, 6379), { timeoutMs: 1000 });
  });

  it('without ports, waits for the published and exposed ones', async () => {
    const t = new FakeWaitTarget();
    const strategy = Wait.forListeningPorts();
    expect(strategy.describe({ target: t, exposedPorts: [80, 443] })).toBe('ports 80, 443 listening inside the container');
    t.listeningPorts = [80];
    after(50, () => (t.listeningPorts = [80, 443]));
    await waitUntilReady(t, strategy, { exposedPorts: [80, 443], timeoutMs: 1000 });
  });

  it('says which ports are missing and which listen instead', async () => {
    const t = new FakeWaitTarget();
    const e = await waitUntilReady(t, Wait.forListeningPorts(5432, 5433), { timeoutMs: 100 }).catch((x: Error) => x);
    expect((e as Error).message).toContain('last attempt: ports 5432, 5433 not listening; nothing listens yet');
  });

  it('with no port to wait for, fails at once', async () => {
    await expect(waitUntilReady(new FakeWaitTarget(), Wait.forListeningPorts())).rejects.toThrow(
      'Wait.forListeningPorts() has no port to wait for: fake-1 publishes and exposes none',
    );
  });

  it('checks its arguments', () => {
    expect(() => Wait.forListeningPorts(80, 0)).toThrow('Wait.forListeningPorts: port 2 must be a port number from 1 to 65535, got 0');
    expect(() => Wait.forListeningPorts(70000)).toThrow('got 70000');
    expect(() => Wait.forListeningPorts('80' as unknown as number)).toThrow('got "80"');
  });
});
