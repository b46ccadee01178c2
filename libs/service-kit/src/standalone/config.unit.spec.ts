import { generateKeyPairSync } from 'node:crypto';
import { encodeKeyPair } from '@gatehouse/bus';
import { ConfigurationError, readStandaloneConfig } from './config.js';

describe('readStandaloneConfig', () => {
  it('requires DATABASE_URL and NATS_URL and names both', () => {
    expect(() => readStandaloneConfig({})).toThrow(ConfigurationError);
    try {
      readStandaloneConfig({});
    } catch (error) {
      expect((error as ConfigurationError).issues.map((i) => i.variable).sort()).toEqual(['DATABASE_URL', 'NATS_URL']);
    }
  });

  it('in production, requires the trusted command keys and reads the NATS user of this process', () => {
    const base = { DATABASE_URL: 'postgres://x', NATS_URL: 'nats://a:4222', NODE_ENV: 'production' };
    expect(() => readStandaloneConfig(base)).toThrow(/GATEHOUSE_COMMAND_PUBLIC_KEYS: must be set when NODE_ENV=production/);
    const { publicKey } = encodeKeyPair(generateKeyPairSync('ed25519').privateKey);
    expect(readStandaloneConfig({ ...base, GATEHOUSE_COMMAND_PUBLIC_KEYS: `gateway=${publicKey}`, NATS_USER: 'approvals', NATS_PASSWORD: 'pw' })).toMatchObject({ NATS_USER: 'approvals', NATS_PASSWORD: 'pw' });
    expect(() => readStandaloneConfig({ ...base, GATEHOUSE_COMMAND_PUBLIC_KEYS: 'gateway=AAAA' })).toThrow(/GATEHOUSE_COMMAND_PUBLIC_KEYS: the key of 'gateway' is not a base64 SPKI DER public key/);
  });

  it('applies defaults and splits a NATS cluster list', () => {
    const config = readStandaloneConfig({ DATABASE_URL: 'postgres://pg/gatehouse', NATS_URL: 'nats://a:4222, nats://b:4222' });
    expect(config).toMatchObject({
      NATS_URL: ['nats://a:4222', 'nats://b:4222'],
      GATEHOUSE_DB_SCHEMA: 'gatehouse',
      GATEHOUSE_POLICIES: 'deploy/policies',
      GATEHOUSE_NATS_PREFIX: 'gatehouse',
      GATEHOUSE_EVENT_STREAM: 'GATEHOUSE_EVENTS',
      PORT: 8080,
      LOG_LEVEL: 'info',
    });
  });

  it('refuses malformed values with the variable and the reason', () => {
    expect(() => readStandaloneConfig({ DATABASE_URL: 'mysql://x', NATS_URL: 'nats://a', PORT: '99999', GATEHOUSE_CLOCK: 'tuesday' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ URL.*PORT.*GATEHOUSE_CLOCK/,
    );
  });
});
