import { placeholder } from '@gatehouse/testing';
test('toolchain', () => { expect(placeholder).toBe(1); });
