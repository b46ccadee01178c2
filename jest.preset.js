// Shared jest configuration: ESM + @swc/jest, workspace packages mapped to their sources
// so tests never depend on built dist/ output.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));

/** @param {{ testMatch?: string[], testTimeout?: number }} [overrides] */
export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
            keepClassNames: true,
          },
          module: { type: 'es6' },
        },
      ],
    },
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: {
      '^@gatehouse/([a-z-]+)$': [`${root}/libs/$1/src/index.ts`, `${root}/apps/$1/src/index.ts`],
      // Subpath exports (e.g. @gatehouse/testing/oidc: helpers too heavy for every suite to load).
      '^@gatehouse/([a-z-]+)/([a-z-]+)$': [`${root}/libs/$1/src/$2.ts`, `${root}/apps/$1/src/$2.ts`],
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testMatch: ['<rootDir>/src/**/*.spec.ts'],
    testTimeout: 30_000,
    ...overrides,
  };
}
