/** Injection tokens of the gateway's process-wide singletons. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const CLOCK = Symbol('CLOCK');
export const POLICY_REGISTRY = Symbol('POLICY_REGISTRY');
/** The ClockControl when GATEHOUSE_CLOCK_CONTROL=on, else null. */
export const CLOCK_CONTROL = Symbol('CLOCK_CONTROL');
