import { generateKeyPairSync } from 'node:crypto';
import { encodeKeyPair } from '@gatehouse/bus';
import { fixedClock } from '@gatehouse/domain';
import { clockFor } from './bootstrap.js';
import { ConfigurationError, readGatewayConfig } from './config.js';

describe('gateway configuration', () => {
  it('defaults to the embedded store, the repo policies and the system clock', () => {
    expect(readGatewayConfig({})).toEqual({
      PORT: 8080,
      HOST: '127.0.0.1',
      GATEHOUSE_DATA_DIR: '.gatehouse-data',
      GATEHOUSE_DB_SCHEMA: 'gatehouse',
      GATEHOUSE_NATS_PREFIX: 'gatehouse',
      GATEHOUSE_POLICIES: 'deploy/policies',
      // The clock cannot be moved unless asked for.
      GATEHOUSE_CLOCK_CONTROL: 'off',
      LOG_LEVEL: 'info',
      // A signed tree head each minute the log grew.
      GATEHOUSE_TREE_HEAD_INTERVAL_MS: 60_000,
      // Used only once GATEHOUSE_OIDC_ISSUER is set.
      GATEHOUSE_OIDC_ALGORITHMS: 'RS256,ES256',
      GATEHOUSE_CI_INITIATOR_CLAIM: 'actor',
      GATEHOUSE_OIDC_JWKS_COOLDOWN_MS: 30_000,
      GATEHOUSE_OIDC_ROLES_CLAIM: 'roles',
    });
  });

  it('names every bad variable and why', () => {
    expect(() => readGatewayConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', GATEHOUSE_CLOCK: 'tomorrow' })).toThrow(ConfigurationError);
    try {
      readGatewayConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', GATEHOUSE_CLOCK: 'tomorrow' });
    } catch (error) {
      expect((error as ConfigurationError).issues.map((i) => i.variable).sort()).toEqual(['DATABASE_URL', 'GATEHOUSE_CLOCK', 'PORT']);
      expect((error as Error).message).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/);
    }
  });

  it('over NATS in production, refuses to sign with the published development keys; names malformed keys', () => {
    const production = { NODE_ENV: 'production', GATEHOUSE_JWT_SECRET: 'x'.repeat(32), NATS_URL: 'nats://127.0.0.1:4222' };
    expect(() => readGatewayConfig(production)).toThrow(/GATEHOUSE_COMMAND_PUBLIC_KEYS: must be set when NODE_ENV=production/);
    // One process generates its own keys: nothing to configure.
    expect(() => readGatewayConfig({ ...production, NATS_URL: undefined })).not.toThrow();
    const { signingKey, publicKey } = encodeKeyPair(generateKeyPairSync('ed25519').privateKey);
    expect(readGatewayConfig({ ...production, GATEHOUSE_COMMAND_SIGNING_KEY: signingKey, GATEHOUSE_COMMAND_PUBLIC_KEYS: `gateway=${publicKey}` })).toMatchObject({ GATEHOUSE_COMMAND_SIGNING_KEY: signingKey });
    expect(() => readGatewayConfig({ ...production, GATEHOUSE_COMMAND_SIGNING_KEY: 'bm90IGEga2V5', GATEHOUSE_COMMAND_PUBLIC_KEYS: `gateway=${publicKey}` })).toThrow(/GATEHOUSE_COMMAND_SIGNING_KEY: is not a base64 PKCS#8 DER private key/);
    expect(() => readGatewayConfig({ GATEHOUSE_COMMAND_SIGNING_KEY: signingKey })).toThrow(/GATEHOUSE_COMMAND_PUBLIC_KEYS: must be set with GATEHOUSE_COMMAND_SIGNING_KEY/);
  });

  it('starts a pinned clock at the configured instant and lets it run from there', () => {
    const base = fixedClock('2030-01-01T00:00:00Z');
    const clock = clockFor({ GATEHOUSE_CLOCK: '2026-11-25T10:30:00Z' }, base);
    expect(clock.now().toISOString()).toBe('2026-11-25T10:30:00.000Z');
    expect(clockFor({}, base)).toBe(base);
  });
});
