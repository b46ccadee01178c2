import type { GatewayConfig } from './config.js';
import type { RunningGateway } from './bootstrap.js';

/** What a person starting Gatehouse needs to know: where it listens, stores, which policy and clock. */
export function startBanner(config: GatewayConfig, gateway: RunningGateway, extra: string[] = []): string {
  const lines = [
    `Gatehouse is running at ${gateway.url}`,
    `  events:   ${gateway.storage}`,
    `  policies: ${config.GATEHOUSE_POLICIES} (${gateway.policies.current.policyVersion})`,
    `  clock:    ${config.GATEHOUSE_CLOCK ? `started at ${config.GATEHOUSE_CLOCK}` : 'system'}`,
    ...extra,
    `  evidence: tree heads signed by key ${gateway.auditKey.keyId.slice(0, 16)}… (${gateway.url}/api/audit/public-key); audit them with: npm run gatehouse -- audit watch --state <file>`,
    `  API docs: ${gateway.url}/docs`,
  ];
  if (gateway.oidcIssuer !== undefined) lines.push(`  sign-in:  identity provider ${gateway.oidcIssuer} (GET ${gateway.url}/api/auth/config)`);
  if (gateway.insecureJwtSecret) {
    lines.push('  auth:     INSECURE development JWT secret (set GATEHOUSE_JWT_SECRET); mint a token: npm run gatehouse -- token --sub <user> --roles <roles>');
  }
  if (gateway.insecureCommandKeys) {
    lines.push('  commands: signed with the published DEVELOPMENT keys (set GATEHOUSE_COMMAND_SIGNING_KEY and GATEHOUSE_COMMAND_PUBLIC_KEYS)');
  }
  return `${lines.join('\n')}\n`;
}
