// A Testcontainers user's process for the Ryuk test: starts a container (Ryuk with it), says its
// ID, then waits to be killed without any cleanup.
import { GenericContainer } from 'testcontainers';

const c = await new GenericContainer(process.argv[2]).withCommand(['sleep', '600']).withLabels({ 'test.kind': 'ryuk-victim' }).start();
process.stdout.write(`${c.getId()}\n`);
setInterval(() => {}, 1000);
