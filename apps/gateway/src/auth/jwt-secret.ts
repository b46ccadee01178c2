import type { GatewayConfig } from '../config.js';
import { INSECURE_DEV_JWT_SECRET } from './jwt.js';

/** The signing secret in force; config validation already refused the default in production. */
export function jwtSecretFor(config: Pick<GatewayConfig, 'GATEHOUSE_JWT_SECRET'>): { secret: string; insecure: boolean } {
  return config.GATEHOUSE_JWT_SECRET === undefined ? { secret: INSECURE_DEV_JWT_SECRET, insecure: true } : { secret: config.GATEHOUSE_JWT_SECRET, insecure: false };
}
