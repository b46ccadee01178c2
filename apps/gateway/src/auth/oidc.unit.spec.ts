import { parseRoleMap, rolesFromClaims } from './oidc.js';
import { readGatewayConfig } from '../config.js';

describe('mapping the identity provider’s claims to Gatehouse roles', () => {
  it('reads a group → roles map, refusing roles Gatehouse does not have', () => {
    expect(parseRoleMap('release-managers=release_engineer+auditor, sre-oncall=sre')).toEqual({ 'release-managers': ['release_engineer', 'auditor'], 'sre-oncall': ['sre'] });
    expect(parseRoleMap(undefined)).toEqual({});
    expect(() => parseRoleMap('admins=root')).toThrow(/"root" \(for group "admins"\) is not a Gatehouse role/);
    expect(() => parseRoleMap('admins')).toThrow(/not group=role/);
  });

  it('takes role names as they are and mapped groups through the map, from a nested claim, ignoring the rest', () => {
    const settings = { rolesClaim: 'realm_access.roles', roleMap: { 'db-admins': ['dba' as const], everyone: [] } };
    expect(rolesFromClaims({ realm_access: { roles: ['sre', 'db-admins', 'everyone', 'offline_access'] } }, settings)).toEqual(['sre', 'dba']);
    expect(rolesFromClaims({ realm_access: { roles: 'qa db-admins' } }, settings)).toEqual(['qa', 'dba']);
    expect(rolesFromClaims({ roles: ['sre'] }, settings)).toEqual([]);
  });

  it('requires an audience with an issuer, and a way to verify tokens in production', () => {
    expect(() => readGatewayConfig({ GATEHOUSE_OIDC_ISSUER: 'https://login.example.com' })).toThrow(/GATEHOUSE_OIDC_AUDIENCE: must be set with GATEHOUSE_OIDC_ISSUER/);
    expect(() => readGatewayConfig({ GATEHOUSE_OIDC_ISSUER: 'ftp://login.example.com', GATEHOUSE_OIDC_AUDIENCE: 'api' })).toThrow(/GATEHOUSE_OIDC_ISSUER/);
    expect(() => readGatewayConfig({ GATEHOUSE_OIDC_ROLE_MAP: 'ops=god' })).toThrow(/GATEHOUSE_OIDC_ROLE_MAP: "god"/);
    const production = { NODE_ENV: 'production', NATS_URL: 'nats://127.0.0.1:4222', GATEHOUSE_COMMAND_SIGNING_KEY: 'x', GATEHOUSE_COMMAND_PUBLIC_KEYS: 'gateway=y' };
    expect(() => readGatewayConfig({ ...production, GATEHOUSE_OIDC_ISSUER: 'https://login.example.com', GATEHOUSE_OIDC_AUDIENCE: 'api' })).not.toThrow(/GATEHOUSE_JWT_SECRET/);
  });
});
