import { SignJWT } from 'jose';
import { readGatewayConfig } from '../config.js';
import { jwtSecretFor } from './jwt-secret.js';
import { INSECURE_DEV_JWT_SECRET, secretKey, verifyAccessToken } from './jwt.js';

const SECRET = 'unit-test-secret-that-is-long-enough!!';
const sign = (claims: Record<string, unknown>, { alg = 'HS256', exp = '1h' }: { alg?: string; exp?: string | number } = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg }).setSubject('ana').setExpirationTime(exp).sign(secretKey(SECRET));

describe('verifyAccessToken', () => {
  it('returns the principal of a valid token, naming it by sub when no name is given', async () => {
    expect(await verifyAccessToken(await sign({ roles: ['tech_lead', 'sre'] }), SECRET)).toEqual({ sub: 'ana', name: 'ana', roles: ['tech_lead', 'sre'], claims: expect.objectContaining({ sub: 'ana' }) });
  });

  it('keeps the token’s other claims (a CI token’s actor) for the routes that read them', async () => {
    expect((await verifyAccessToken(await sign({ roles: ['developer'], actor: 'ivan' }), SECRET)).claims).toMatchObject({ actor: 'ivan' });
  });

  it.each([
    ['an unknown role', { roles: ['overlord'] }, {}, "claim 'roles.0'"],
    ['no roles', {}, {}, "claim 'roles'"],
    ['another algorithm', { roles: ['sre'] }, { alg: 'HS512' }, 'algorithm not allowed'],
    ['an expiry in the past', { roles: ['sre'] }, { exp: Math.floor(Date.now() / 1000) - 5 }, 'expired'],
  ])('refuses a token with %s', async (_case, claims, options, reason) => {
    await expect(verifyAccessToken(await sign(claims, options), SECRET)).rejects.toMatchObject({ name: 'InvalidTokenError', message: expect.stringContaining(reason) });
  });

  it('remembers a verified token only until it expires, and never for another secret', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await sign({ roles: ['sre'] }, { exp });
    expect((await verifyAccessToken(token, SECRET)).roles).toEqual(['sre']);
    expect((await verifyAccessToken(token, SECRET)).roles).toEqual(['sre']);
    await expect(verifyAccessToken(token, 'another-secret-that-is-long-enough-too!!')).rejects.toMatchObject({ message: expect.stringContaining('signature') });
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 100));
    await expect(verifyAccessToken(token, SECRET)).rejects.toMatchObject({ name: 'InvalidTokenError', message: expect.stringContaining('expired') });
  });

  it('does not accept a tampered copy of a token it has verified', async () => {
    const token = await sign({ roles: ['developer'] });
    await verifyAccessToken(token, SECRET);
    const [header, , signature] = token.split('.');
    const elevated = Buffer.from(JSON.stringify({ roles: ['vp_engineering'], sub: 'ana', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    await expect(verifyAccessToken(`${header}.${elevated}.${signature}`, SECRET)).rejects.toMatchObject({ message: expect.stringContaining('signature') });
  });

  it('refuses a token without an expiry', async () => {
    const forever = await new SignJWT({ roles: ['sre'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('ana').sign(secretKey(SECRET));
    await expect(verifyAccessToken(forever, SECRET)).rejects.toMatchObject({ message: expect.stringContaining("'exp'") });
  });
});

describe('JWT secret configuration', () => {
  it('falls back to the insecure development secret, and says so', () => {
    expect(jwtSecretFor(readGatewayConfig({}))).toEqual({ secret: INSECURE_DEV_JWT_SECRET, insecure: true });
  });

  it('refuses to start in production without a secret, and refuses short secrets', () => {
    expect(() => readGatewayConfig({ NODE_ENV: 'production' })).toThrow(/GATEHOUSE_JWT_SECRET: must be set when NODE_ENV=production/);
    expect(() => readGatewayConfig({ GATEHOUSE_JWT_SECRET: 'short' })).toThrow(/GATEHOUSE_JWT_SECRET: must be at least 32 characters/);
    expect(jwtSecretFor(readGatewayConfig({ NODE_ENV: 'production', GATEHOUSE_JWT_SECRET: SECRET }))).toEqual({ secret: SECRET, insecure: false });
  });
});
