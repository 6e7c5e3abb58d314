import { describe, expect, it } from 'vitest';
import { parseListeningPorts } from './listening-sockets.js';

describe('parseListeningPorts', () => {
  it('keeps LISTEN sockets only, v4 and v6, once each', () => {
    const v4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0050 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0`;
    const v6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000`;
    expect(parseListeningPorts(v4)).toEqual([5432, 8080]);
    expect(parseListeningPorts(v6)).toEqual([8080]);
    expect(parseListeningPorts('')).toEqual([]);
  });
});
