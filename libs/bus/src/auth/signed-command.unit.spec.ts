import { generateKeyPairSync } from 'node:crypto';
import { createInProcessCommandBus } from '../commands/in-process.js';
import { CommandFailedError } from '../errors.js';
import { authenticatedCommandBus, MissingSigningKeyError } from './authenticated-bus.js';
import { commandKeysFromConfig, developmentCommandKeys, encodeKeyPair, generateCommandKeys, InvalidCommandKeyError, parseTrustedKeys } from './keys.js';
import { createCommandSigner, createCommandVerifier, ForbiddenCommandError, type ForbiddenCommandReason, type SignedCommand } from './signed-command.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const keys = generateCommandKeys(['gateway', 'monitoring']);
const at = (ms: number) => () => ms;
const gateway = createCommandSigner({ name: 'gateway', privateKey: keys.signing.get('gateway')!, now: at(T0) });
const monitoring = createCommandSigner({ name: 'monitoring', privateKey: keys.signing.get('monitoring')!, now: at(T0) });
const verifier = createCommandVerifier({ trusted: keys.trusted, now: at(T0 + 1_000) });
const ana = { subject: 'ana', roles: ['tech_lead'] };
const approve = { commandId: 'cmd-1', changeRequestId: 'cr-1', role: 'tech_lead' };

function refusal(data: unknown, command = 'grant', verify = verifier): ForbiddenCommandReason {
  try {
    verify.verify('approvals', command, data);
  } catch (error) {
    if (error instanceof ForbiddenCommandError) return error.reason;
    throw error;
  }
  throw new Error('the command was accepted');
}

describe('signed commands', () => {
  it('given the gateway signed ana approving, when approvals verifies it, then it gets the payload and ana with her roles', () => {
    const signed = gateway.sign('approvals', 'grant', approve, ana);
    expect(verifier.verify('approvals', 'grant', JSON.parse(JSON.stringify(signed)))).toEqual({ payload: approve, caller: { ...ana, signer: 'gateway' } });
  });

  it('given a bare payload claiming approverRoles, when verified, then it is refused as unsigned', () => {
    expect(refusal({ ...approve, approver: 'mallory', approverRoles: ['vp_engineering'] })).toBe('unsigned');
    expect(refusal(null)).toBe('unsigned');
    expect(refusal('{"claims":1}')).toBe('unsigned');
  });

  it('given a signed command whose payload was swapped, when verified, then it is refused as payload_mismatch', () => {
    const signed = gateway.sign('approvals', 'grant', approve, ana);
    expect(refusal({ ...signed, payload: JSON.stringify({ ...approve, role: 'vp_engineering' }) })).toBe('payload_mismatch');
  });

  it('given claims raised to other roles, when verified, then the signature does not match', () => {
    const signed = gateway.sign('approvals', 'grant', approve, ana);
    const claims = JSON.stringify({ ...JSON.parse(signed.claims), roles: ['vp_engineering'] });
    expect(refusal({ ...signed, claims })).toBe('bad_signature');
  });

  it('given a signature replayed on another command, when verified, then it is refused as wrong_command', () => {
    const signed = gateway.sign('approvals', 'revoke', approve, ana);
    expect(refusal(signed, 'grant')).toBe('wrong_command');
  });

  it('given a signature older than its lifetime, when verified, then it is refused as expired', () => {
    const signed = gateway.sign('approvals', 'grant', approve, ana);
    expect(refusal(signed, 'grant', createCommandVerifier({ trusted: keys.trusted, now: at(T0 + 60_000) }))).toBe('expired');
    expect(refusal(signed, 'grant', createCommandVerifier({ trusted: keys.trusted, now: at(T0 - 31_000) }))).toBe('not_yet_valid');
  });

  it('given a key nobody trusts, when it signs as the gateway, then it is refused as bad_signature; under its own name as unknown_signer', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(refusal(createCommandSigner({ name: 'gateway', privateKey, now: at(T0) }).sign('approvals', 'grant', approve, ana))).toBe('bad_signature');
    expect(refusal(createCommandSigner({ name: 'intruder', privateKey, now: at(T0) }).sign('approvals', 'grant', approve, ana))).toBe('unknown_signer');
    // What the attacker chose is cut short in the reply.
    const long = createCommandSigner({ name: 'x'.repeat(100_000), privateKey, now: at(T0) }).sign('approvals', 'grant', approve, ana);
    expect(() => verifier.verify('approvals', 'grant', long)).toThrow(expect.objectContaining({ message: expect.stringMatching(/^.{1,300}$/) }));
  });

  it('given a service signer vouching for a user, when verified, then it is refused: only the gateway speaks for users', () => {
    expect(refusal(monitoring.sign('approvals', 'grant', approve, ana))).toBe('identity_not_allowed');
    expect(refusal(monitoring.sign('approvals', 'grant', approve, { subject: 'monitoring', roles: ['sre'] }))).toBe('identity_not_allowed');
    expect(verifier.verify('approvals', 'grant', monitoring.sign('approvals', 'grant', approve, { subject: 'monitoring', roles: [] })).caller).toEqual({ subject: 'monitoring', roles: [], signer: 'monitoring' });
  });

  it('given a payload naming another actor than the signed caller, when verified, then it is refused as actor_mismatch', () => {
    expect(refusal(gateway.sign('approvals', 'grant', { ...approve, actor: 'vera' }, ana))).toBe('actor_mismatch');
    expect(verifier.verify('approvals', 'grant', gateway.sign('approvals', 'grant', { ...approve, actor: 'ana' }, ana)).payload).toMatchObject({ actor: 'ana' });
  });

  it('given malformed claims, when verified, then it is refused as malformed', () => {
    const signed: SignedCommand = gateway.sign('approvals', 'grant', approve, ana);
    expect(refusal({ ...signed, claims: 'not json' })).toBe('malformed');
    expect(refusal({ ...signed, claims: JSON.stringify({ v: 1, iss: 'gateway' }) })).toBe('malformed');
  });
});

describe('authenticatedCommandBus (one code path for both forms)', () => {
  it('signs as the caller given, verifies before the handler, and refuses an unsigned send with ForbiddenCommand', async () => {
    const raw = createInProcessCommandBus();
    const service = authenticatedCommandBus(raw, { keys, name: 'monitoring' });
    const gatewayBus = authenticatedCommandBus(raw, { keys, name: 'gateway' });
    const seen: unknown[] = [];
    await service.register('approvals', 'grant', (payload, meta) => (seen.push({ payload, caller: meta.caller }), 'granted'));

    await expect(gatewayBus.send('approvals', 'grant', approve, { caller: ana })).resolves.toBe('granted');
    expect(seen).toEqual([{ payload: approve, caller: { ...ana, signer: 'gateway' } }]);

    const forged = raw.send('approvals', 'grant', { ...approve, approver: 'mallory', approverRoles: ['vp_engineering'] });
    await expect(forged).rejects.toBeInstanceOf(CommandFailedError);
    await expect(forged).rejects.toMatchObject({ remoteName: 'ForbiddenCommand', details: { code: 'FORBIDDEN_COMMAND', reason: 'unsigned' } });
    expect(seen).toHaveLength(1);
  });

  it('a process without a signing key cannot send', async () => {
    const bus = authenticatedCommandBus(createInProcessCommandBus(), { keys: { ...keys, signing: new Map() }, name: 'projections' });
    await expect(bus.send('approvals', 'grant', approve)).rejects.toBeInstanceOf(MissingSigningKeyError);
  });
});

describe('command keys from configuration', () => {
  it('without configuration: the published development keys, marked insecure, the same in every process', () => {
    const a = commandKeysFromConfig({ name: 'gateway' });
    const b = commandKeysFromConfig({ name: 'approvals' });
    expect(a.insecure).toBe(true);
    const signed = createCommandSigner({ name: 'gateway', privateKey: a.signing.get('gateway')! }).sign('approvals', 'grant', approve, ana);
    expect(createCommandVerifier({ trusted: b.trusted }).verify('approvals', 'grant', signed).caller.subject).toBe('ana');
    expect(b.signing.has('gateway')).toBe(false);
    // Any name's development key can be derived: what makes them insecure.
    expect(b.trusted.get('shipping')).toBeDefined();
    expect(developmentCommandKeys(['gateway']).trusted.get('gateway')!.equals(a.trusted.get('gateway')!)).toBe(true);
  });

  it('configured: the own signing key and the named public keys; malformed values name the variable', () => {
    const pair = encodeKeyPair(generateKeyPairSync('ed25519').privateKey);
    const configured = commandKeysFromConfig({ name: 'gateway', signingKey: pair.signingKey, publicKeys: `gateway=${pair.publicKey}` });
    expect(configured.insecure).toBe(false);
    expect(configured.trusted.get('gateway')).toBeDefined();
    expect(configured.trusted.get('approvals')).toBeUndefined();
    expect(() => commandKeysFromConfig({ name: 'gateway', signingKey: pair.signingKey })).toThrow(/GATEHOUSE_COMMAND_PUBLIC_KEYS/);
    expect(() => commandKeysFromConfig({ name: 'gateway', signingKey: 'bm90IGEga2V5', publicKeys: `gateway=${pair.publicKey}` })).toThrow(InvalidCommandKeyError);
    expect(() => parseTrustedKeys('gateway')).toThrow(/name=<base64 public key>/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(() => parseTrustedKeys(`gateway=${rsa}`)).toThrow(/Ed25519/);
  });
});
