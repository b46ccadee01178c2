import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf, signTreeHead, treeHeadSigningInput, verifyTreeHead, type TreeHead } from './treeHead.js';

describe('signed tree heads', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const head: TreeHead = {
    treeSize: 8,
    rootHash: '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    lastPosition: '12',
    timestamp: '2026-12-01T10:00:00.000Z',
  };

  it('signs the documented bytes and verifies with the public key it names', () => {
    expect(treeHeadSigningInput(head).toString('utf8')).toBe(
      'gatehouse-tree-head/v1\n8\n5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n12\n2026-12-01T10:00:00.000Z',
    );
    const signed = signTreeHead(head, privateKey);
    expect(signed.keyId).toBe(keyIdOf(publicKey));
    expect(verifyTreeHead(signed, publicKey)).toBe(true);
  });

  it('fails for any changed field, another key, or a broken signature', () => {
    const signed = signTreeHead(head, privateKey);
    expect(verifyTreeHead({ ...signed, treeSize: 9 }, publicKey)).toBe(false);
    expect(verifyTreeHead({ ...signed, rootHash: 'e'.repeat(64) }, publicKey)).toBe(false);
    expect(verifyTreeHead({ ...signed, lastPosition: '13' }, publicKey)).toBe(false);
    expect(verifyTreeHead({ ...signed, timestamp: '2026-12-01T10:00:01.000Z' }, publicKey)).toBe(false);
    expect(verifyTreeHead({ ...signed, signature: 'AAAA' }, publicKey)).toBe(false);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyTreeHead(signed, other)).toBe(false);
    expect(verifyTreeHead({ ...signed, keyId: keyIdOf(other) }, other)).toBe(false);
  });

  it('refuses to sign with a key that is not ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => signTreeHead(head, rsa)).toThrow(TypeError);
  });
});
