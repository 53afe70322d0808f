export * from './number-policy';
export * from './nanp';
export * from './rate-limit';
export * from './operating-hours';
export * from './expiry';
export * from './answering-machine-guard';
export * from './number-entry';
