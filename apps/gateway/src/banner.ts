import type { GatewayConfig } from './config.js';
import type { RunningGateway } from './bootstrap.js';

const LABEL_WIDTH = 10;
const SHORT_HASH = 19;

/** What a person starting Gatehouse needs to know, in a few lines: where it listens, stores, which policy and clock, how to start. */
export function startBanner(config: GatewayConfig, gateway: RunningGateway, extra: string[] = []): string {
  const row = (label: string, text: string) => `  ${label.padEnd(LABEL_WIDTH)}${text}`;
  const clock = config.GATEHOUSE_CLOCK ? `started at ${config.GATEHOUSE_CLOCK}` : 'system';
  const lines = [
    `Gatehouse is running at ${gateway.url}`,
    row('API docs', `${gateway.url}/docs`),
    row('events', gateway.storage),
    row('policies', `${config.GATEHOUSE_POLICIES} (${gateway.policies.current.policyVersion.slice(0, SHORT_HASH)}…)`),
    row('clock', `${clock}${config.GATEHOUSE_CLOCK_CONTROL === 'on' ? '; movable: npx gatehouse clock set <instant>' : ''}`),
    ...extra,
    row('evidence', `tree heads signed by key ${gateway.auditKey.keyId.slice(0, 16)}…; check them: npx gatehouse audit watch --state <file>`),
  ];
  if (gateway.oidcIssuer !== undefined) lines.push(`  sign-in:  identity provider ${gateway.oidcIssuer} (GET ${gateway.url}/api/auth/config)`);
  if (gateway.insecureJwtSecret) {
    lines.push(row('auth', 'INSECURE development JWT secret (set GATEHOUSE_JWT_SECRET)'));
    lines.push(row('sign in', 'npx gatehouse token --sub ana --roles developer | npx gatehouse login'));
  }
  if (gateway.insecureCommandKeys) {
    lines.push(row('commands', 'signed with the published DEVELOPMENT keys (set GATEHOUSE_COMMAND_SIGNING_KEY and GATEHOUSE_COMMAND_PUBLIC_KEYS)'));
  }
  return `${lines.join('\n')}\n`;
}
