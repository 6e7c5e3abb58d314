import { describe, expect, it } from 'vitest';
import { scramClientFinal, scramClientFirst, scramVerifyServer } from './postgres-scram.js';

describe('SCRAM-SHA-256', () => {
  it("gives RFC 7677's example exchange (section 3) byte for byte, and accepts the server's proof", () => {
    const first = scramClientFirst('rOprNGfwEbeRWgbNEkqO', 'user');
    expect(first.message.toString()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = scramClientFinal(first.state, 'pencil', 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(final.message.toString()).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(scramVerifyServer(final.state, 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).toBe(true);
    expect(scramVerifyServer(final.state, 'v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).toBe(false);
  });

  it('refuses a server nonce that does not extend its own', () => {
    const first = scramClientFirst('abc');
    expect(() => scramClientFinal(first.state, 'pw', 'r=xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).toThrow(/server-first/);
  });
});
