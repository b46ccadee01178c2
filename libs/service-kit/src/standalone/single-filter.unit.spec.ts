import { supportsMultipleFilterSubjects } from './single-filter.js';

describe('single filter subject for nats-server < 2.10', () => {
  it('knows which servers take several filter subjects', () => {
    expect(supportsMultipleFilterSubjects('2.9.10')).toBe(false);
    expect(supportsMultipleFilterSubjects('2.10.0')).toBe(true);
    expect(supportsMultipleFilterSubjects('v2.11.3')).toBe(true);
    expect(supportsMultipleFilterSubjects('3.0.0')).toBe(true);
    expect(supportsMultipleFilterSubjects(undefined)).toBe(true);
  });
});
